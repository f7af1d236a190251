/**
 * Real Kafka for Wisp's tests. Test files named `*kafka*.test.ts` (or under test/integration/kafka/) run in the
 * vitest `kafka` project, whose globalSetup starts one Kafka per run; they call `kafkaBrokers()` to reach it.
 */
import { inject } from 'vitest';
import { KafkaSupportError } from './errors.js';
import type {} from './provided.js';

export { ensureKafkaJars, startKafka, type EnsureKafkaJarsOptions, type RunningKafka, type StartKafkaOptions } from './kafka.js';
export { uniqueName, withAdmin, type WithAdminOptions } from './topics.js';
export { kcatProduce } from './kcat.js';
export { KafkaSupportError, type KafkaSupportErrorCode } from './errors.js';

/** Bootstrap address (`host:port[,host:port]`) of the Kafka for this test run. */
export function kafkaBrokers(): string {
  const fromEnv = process.env['WISP_KAFKA_BROKERS'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim();
  const provided = inject('kafkaBrokers') as string | undefined;
  if (provided === undefined || provided === '') {
    throw new KafkaSupportError(
      'WISP_ERR_KAFKA_NOT_PROVIDED',
      'No Kafka for this test: Kafka is started only for the vitest "kafka" project. Name the test file *kafka*.test.ts ' +
        '(or put it under test/integration/kafka/), or set WISP_KAFKA_BROKERS=host:port.',
    );
  }
  return provided;
}
