import { randomUUID } from 'node:crypto';
import { deleteKeys } from '../../support/redis.js';
import { afterAll, describe, expect, it } from 'vitest';
import { crashScenario } from './scenario.js';

const prefix = `wisp-crash-${randomUUID().slice(0, 8)}`;

describe('Redis class survives kill -9 (crash test)', () => {
  afterAll(async () => {
    await deleteKeys(prefix);
  });

  it('delivers at least once every event that got a 202, across a SIGKILL of wisp up', async () => {
    const outcome = await crashScenario({ env: { WISP_REDIS_PREFIX: prefix }, brokerClass: 'Redis', expectAll: true });
    console.log(
      `Redis crash test: ${outcome.sent} sent, ${outcome.accepted.size} accepted, ${outcome.lost.length} lost, ${outcome.duplicates} duplicates`,
    );
    // Most of the stream before the kill was taken, and the restarted platform takes events again.
    expect(outcome.acceptedBeforeKill).toBeGreaterThan(outcome.killAfter * 0.8);
    expect(outcome.acceptedAfterRestart).toBeGreaterThan(0);
    expect(outcome.lost).toEqual([]);
  }, 180_000);
});
