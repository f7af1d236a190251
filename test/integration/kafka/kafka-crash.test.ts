import { describe, expect, it } from 'vitest';
import { kafkaBrokers } from '../../support/kafka/index.js';
import { crashScenario } from '../crash/scenario.js';

describe('Kafka class survives kill -9 (crash test)', () => {
  it('delivers at least once every event that got a 202, across a SIGKILL of wisp up', async () => {
    const outcome = await crashScenario({
      env: { WISP_KAFKA_BROKERS: kafkaBrokers() },
      brokerClass: 'Kafka',
      expectAll: true,
      deliveryTimeoutMs: 120_000,
    });
    console.log(`Kafka crash test: ${outcome.sent} sent, ${outcome.accepted.size} accepted, ${outcome.lost.length} lost, ${outcome.duplicates} duplicates`);
    // Most of the stream before the kill was taken, and the restarted platform takes events again.
    expect(outcome.acceptedBeforeKill).toBeGreaterThan(outcome.killAfter * 0.8);
    expect(outcome.acceptedAfterRestart).toBeGreaterThan(0);
    expect(outcome.lost).toEqual([]);
  }, 240_000);
});
