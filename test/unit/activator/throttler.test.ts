import { describe, expect, it } from 'vitest';
import { QueueFullError, QueueTimeoutError, RequestAbortedError, RevisionFailedError, RevisionRemovedError } from '../../../activator/errors.js';
import { Throttler } from '../../../activator/throttler.js';
import type { RevisionState } from '../../../activator/types.js';
import type { ReplicaEndpoint } from '../../../src/runtime/types.js';
import { ManualClock } from '../../support/clock.js';

const KEY = 'default/hello-00001';
const ep = (i: number): ReplicaEndpoint => ({ id: `hello-00001-${i}`, host: '127.0.0.1', port: 9000 + i });
const state = (over: Partial<RevisionState> = {}): RevisionState => ({
  key: KEY,
  namespace: 'default',
  service: 'hello',
  revision: 'hello-00001',
  containerConcurrency: 0,
  timeoutSeconds: 300,
  endpoints: [],
  ...over,
});

/** Work that stays in flight until released by the test. */
function gate() {
  const calls: { dest: ReplicaEndpoint; remainingMs: number; coldMs: number; release: () => void }[] = [];
  const work = (dest: ReplicaEndpoint, remainingMs: number, coldMs: number): Promise<string> =>
    new Promise((resolve) => calls.push({ dest, remainingMs, coldMs, release: () => resolve(dest.id) }));
  return { calls, work };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Throttler', () => {
  it('queues while there are no endpoints, pokes once, and dispatches at once when endpoints appear', async () => {
    const clock = new ManualClock();
    const pokes: string[] = [];
    const t = new Throttler({ clock, onColdStart: (k) => pokes.push(k) });
    const { calls, work } = gate();
    const a = t.run(KEY, undefined, work);
    const b = t.run(KEY, undefined, work);
    expect(pokes).toEqual([KEY]);
    expect(t.queued(KEY)).toBe(2);
    clock.advance(1500);
    t.upsert(state({ endpoints: [ep(1)] }));
    expect(calls.map((c) => [c.dest.id, c.coldMs, c.remainingMs])).toEqual([
      ['hello-00001-1', 1500, 298_500],
      ['hello-00001-1', 1500, 298_500],
    ]);
    calls.forEach((c) => c.release());
    await expect(a).resolves.toBe('hello-00001-1');
    await expect(b).resolves.toBe('hello-00001-1');
    expect(t.inFlight(KEY)).toBe(0);
    // back at zero: a new cold start pokes again
    t.upsert(state({ endpoints: [] }));
    t.run(KEY, undefined, work).catch(() => {});
    t.run(KEY, undefined, work).catch(() => {});
    expect(pokes).toEqual([KEY, KEY]);
    t.remove(KEY);
  });

  it('never exceeds containerConcurrency per replica and hands freed slots to the queue', async () => {
    const clock = new ManualClock();
    const t = new Throttler({ clock });
    t.upsert(state({ containerConcurrency: 1, endpoints: [ep(1), ep(2)] }));
    const { calls, work } = gate();
    const results = Array.from({ length: 5 }, () => t.run(KEY, undefined, work));
    expect(calls.length).toBe(2);
    expect(new Set(calls.map((c) => c.dest.id)).size).toBe(2);
    expect(t.queued(KEY)).toBe(3);
    expect(calls[0]!.coldMs).toBe(-1);
    for (let i = 0; i < 5; i++) {
      const c = calls[i]!;
      expect([...t.replicaLoad(KEY).values()].every((n) => n <= 1)).toBe(true);
      c.release();
      await settle();
    }
    await Promise.all(results);
    expect(calls.length).toBe(5);
    expect(calls.slice(2).every((c) => c.coldMs === -1)).toBe(true);
  });

  it('rejects with QueueFullError beyond the queue depth', async () => {
    const t = new Throttler({ clock: new ManualClock(), queueDepth: 2 });
    const { work } = gate();
    t.run(KEY, undefined, work).catch(() => {});
    t.run(KEY, undefined, work).catch(() => {});
    const err = await t.run(KEY, undefined, work).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect(err).toMatchObject({ code: 'WISP_ERR_QUEUE_FULL', statusCode: 503, retriable: true });
    t.remove(KEY);
  });

  it('fails queued and new requests fast when the revision cannot start', async () => {
    const t = new Throttler({ clock: new ManualClock() });
    const { work } = gate();
    const waiting = t.run(KEY, undefined, work);
    t.upsert(state({ failure: { reason: 'ExitCode1', message: 'node: cannot find module /app/x.js' } }));
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RevisionFailedError);
    expect((err as Error).message).toBe('revision default/hello-00001 cannot start: ExitCode1: node: cannot find module /app/x.js');
    await expect(t.run(KEY, undefined, work)).rejects.toThrow('cannot start: ExitCode1');
    expect(t.queued(KEY)).toBe(0);
  });

  it('times out queued requests after timeoutSeconds on the clock', async () => {
    const clock = new ManualClock();
    const t = new Throttler({ clock });
    t.upsert(state({ timeoutSeconds: 2 }));
    const { work } = gate();
    const p = t.run(KEY, undefined, work).catch((e: unknown) => e);
    clock.advance(1999);
    expect(t.queued(KEY)).toBe(1);
    clock.advance(1);
    const err = await p;
    expect(err).toBeInstanceOf(QueueTimeoutError);
    expect(err).toMatchObject({ statusCode: 503 });
    expect(t.queued(KEY)).toBe(0);
  });

  it('drops a queued request when its signal aborts, and removal fails the rest', async () => {
    const clock = new ManualClock();
    const t = new Throttler({ clock });
    const { calls, work } = gate();
    const ac = new AbortController();
    const aborted = t.run(KEY, ac.signal, work).catch((e: unknown) => e);
    const other = t.run(KEY, undefined, work).catch((e: unknown) => e);
    ac.abort();
    expect(await aborted).toBeInstanceOf(RequestAbortedError);
    expect(t.queued(KEY)).toBe(1);
    t.remove(KEY);
    expect(await other).toBeInstanceOf(RevisionRemovedError);
    expect(calls.length).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});
