import { KafkaBackend } from '../../../broker/backends/index.js';
import { systemClock } from '../../../src/clock.js';
import { describeFidelity } from '../broker/fidelity-suite.js';
import { kafkaBrokers } from '../../support/kafka/index.js';

describeFidelity('KafkaBackend', async () => {
  const backend = new KafkaBackend({ brokers: kafkaBrokers().split(','), clock: systemClock, topicPartitions: 2, closeTimeoutMs: 5_000 });
  return { backend, cleanup: () => backend.close() };
});
