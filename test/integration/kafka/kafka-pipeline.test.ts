import { KafkaBackend } from '../../../broker/backends/index.js';
import { systemClock } from '../../../src/clock.js';
import { describeDeliveryPipelineContract } from '../../contract/delivery-pipeline.js';
import { kafkaBrokers } from '../../support/kafka/index.js';

describeDeliveryPipelineContract('KafkaBackend', async () => {
  const backend = new KafkaBackend({ brokers: kafkaBrokers().split(','), clock: systemClock, topicPartitions: 2, closeTimeoutMs: 5_000 });
  return { backend, cleanup: () => backend.close() };
});
