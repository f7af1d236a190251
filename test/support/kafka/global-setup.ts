/**
 * globalSetup of the vitest `kafka` project: one Kafka per test run, only when Kafka tests run.
 * WISP_KAFKA_BROKERS set means "use that cluster" and nothing is started.
 */
import type { TestProject } from 'vitest/node';
import { startKafka } from './kafka.js';
import type {} from './provided.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env['WISP_KAFKA_BROKERS']?.trim();
  if (external !== undefined && external !== '') {
    project.provide('kafkaBrokers', external);
    return undefined;
  }
  const kafka = await startKafka({ log: (m) => console.log(`[kafka] ${m}`) });
  project.provide('kafkaBrokers', kafka.brokers);
  return async () => {
    await kafka.stop();
  };
}
