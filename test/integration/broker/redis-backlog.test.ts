/**
 * The Redis class's backlog cap against the real Redis, with two RedisBackend instances on one key prefix (two Wisp
 * processes sharing one Redis): the count lives in Redis, so each process refuses what the other filled, and
 * concurrent publishers of both overshoot the cap by at most the other process's publishes in flight.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { RedisBackend } from '../../../broker/backends/index.js';
import { BackendFullError } from '../../../broker/errors.js';
import type { BrokerRef, HandleOutcome } from '../../../broker/types.js';
import { systemClock } from '../../../src/clock.js';
import { REDIS_URL, deleteKeys } from '../../support/redis.js';

const DONE: HandleOutcome = { kind: 'done' };

function event(): CloudEvent {
  return new CloudEvent<unknown>({ id: randomUUID(), type: 'dev.wisp.backlog', source: '/redis-backlog', data: { n: 1 } }) as unknown as CloudEvent;
}

describe('RedisBackend backlog cap shared by two processes', () => {
  const backends: RedisBackend[] = [];
  let prefix = '';

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    await deleteKeys(prefix);
  });

  /** Two backends on one prefix, a broker with `limit`, and one trigger whose subscription is durable but not consumed. */
  async function twoProcesses(limit: number): Promise<{ a: RedisBackend; b: RedisBackend; broker: BrokerRef; waiting: () => Promise<number> }> {
    prefix = `wisp-test-${randomUUID()}`;
    const open = (): RedisBackend => {
      const backend = new RedisBackend({ url: REDIS_URL, prefix, clock: systemClock, closeTimeoutMs: 1_000 });
      backends.push(backend);
      return backend;
    };
    const a = open();
    const b = open();
    const broker = { namespace: `ns-${randomUUID().slice(0, 8)}`, name: 'default' };
    await a.ensureBroker(broker, { maxBacklog: limit });
    await b.ensureBroker(broker, { maxBacklog: limit });
    const sub = { broker, trigger: `${broker.namespace}/slow`, maxInFlight: 1 };
    const consumer = await a.subscribe(sub, async () => DONE);
    await consumer.close(); // the subscription stays: events are kept for it, nobody takes them
    const queue = await a.queueFor(sub);
    return { a, b, broker, waiting: async () => (await queue?.getWaitingCount()) ?? -1 };
  }

  it('each process refuses what the other filled: the count is read from Redis', async () => {
    const { a, b, broker, waiting } = await twoProcesses(6);
    for (let i = 0; i < 6; i++) await a.publish(broker, event());
    const err = await b.publish(broker, event()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendFullError);
    expect(err).toMatchObject({ statusCode: 503, retriable: true, limit: 6, waiting: 6 });
    await expect(a.publish(broker, event())).rejects.toBeInstanceOf(BackendFullError);
    await expect(b.publishBatch(broker, [event(), event()])).rejects.toBeInstanceOf(BackendFullError);
    expect(await waiting()).toBe(6);
    // Both report the same backlog, from Redis.
    const id = `${broker.namespace}/${broker.name}`;
    for (const p of [a, b]) expect((await p.backlog()).filter((r) => r.broker === id)).toEqual([{ broker: id, trigger: `${broker.namespace}/slow`, events: 6, limit: 6 }]);
  });

  it('concurrent publishers in both processes overshoot the cap by at most the other process\'s publishes in flight', async () => {
    const limit = 40;
    const perProcess = 8; // concurrent publishers per process, one event each: the bound is limit + (2 - 1) × 8 × 1
    const { a, b, broker, waiting } = await twoProcesses(limit);
    let accepted = 0;
    let refused = 0;
    const loop = async (p: RedisBackend): Promise<void> => {
      // Without a cap this would store 2 × 8 × 100 = 1600 events.
      for (let i = 0; i < 100; i++) {
        try {
          await p.publish(broker, event());
          accepted++;
        } catch (err) {
          if (!(err instanceof BackendFullError)) throw err;
          refused++;
          return;
        }
      }
    };
    await Promise.all([...Array.from({ length: perProcess }, () => loop(a)), ...Array.from({ length: perProcess }, () => loop(b))]);
    const stored = await waiting();
    expect(stored).toBe(accepted); // nothing refused was stored
    expect(refused).toBe(2 * perProcess);
    expect(stored).toBeLessThanOrEqual(limit + perProcess);
    // A check can count a concurrent add of its own process twice (stored and still reserved): it errs on refusing.
    expect(stored).toBeGreaterThanOrEqual(limit - perProcess);
  });
});
