/**
 * Pacing of the in-memory backend (broker/backends/memory.ts): a publish that finds a queue at its high-water mark
 * waits, in arrival order, until the consumer takes events, for at most maxWaitMs on the clock; it stores nothing
 * while it waits; past the wait it is stored while there is room under the backlog limit, and refused at it.
 */
import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../../broker/backends/index.js';
import { BackendClosedError, BackendFullError, BrokerNotFoundError } from '../../../../broker/errors.js';
import type { HandleOutcome, StoredEvent } from '../../../../broker/types.js';
import { systemClock } from '../../../../src/clock.js';
import { describeEventBackendContract } from '../../../contract/event-backend.js';
import { ManualClock } from '../../../support/clock.js';
import { waitFor } from '../../../support/wait.js';

// The whole contract holds with pacing on (high-water 2 per subscription, short waits on real time).
describeEventBackendContract('MemoryBackend with pacing', async () => {
  const backend = new MemoryBackend({ clock: systemClock, pacing: { min: 2, perSlot: 1, maxWaitMs: 30 } });
  return { backend, cleanup: () => backend.close() };
}, { durable: false, backlogCap: true });

const DONE: HandleOutcome = { kind: 'done' };
const broker = { namespace: 'default', name: 'paced' };
const event = (i: number): CloudEvent<unknown> => new CloudEvent<unknown>({ id: `e-${i}-${randomUUID()}`, type: 't', source: '/s', data: { i } });

/** A backend with one subscription (maxInFlight 1) whose handler holds each event until `release()`. */
async function held(opts: { maxQueued?: number; maxWaitMs?: number } = {}) {
  const clock = new ManualClock();
  const backend = new MemoryBackend({ clock, closeTimeoutMs: 0, maxQueued: opts.maxQueued ?? 100, pacing: { min: 2, perSlot: 1, maxWaitMs: opts.maxWaitMs ?? 1000 } });
  await backend.ensureBroker(broker);
  const seen: StoredEvent[] = [];
  const gates: Array<() => void> = [];
  await backend.subscribe({ broker, trigger: 'default/slow', maxInFlight: 1 }, async (s) => {
    seen.push(s);
    await new Promise<void>((r) => gates.push(r));
    return DONE;
  });
  const release = async (): Promise<void> => {
    const n = seen.length;
    gates.shift()?.();
    await waitFor(() => seen.length === n + 1, { what: 'next event taken' });
  };
  const queued = (): number => backend.stats()[0]?.queued ?? -1;
  return { clock, backend, seen, release, queued };
}

/** Tracks whether a promise settled (and how). */
function track(p: Promise<void>): { state: () => 'pending' | 'stored' | 'refused'; error: () => unknown } {
  let state: 'pending' | 'stored' | 'refused' = 'pending';
  let error: unknown;
  p.then(
    () => (state = 'stored'),
    (e: unknown) => {
      state = 'refused';
      error = e;
    },
  );
  return { state: () => state, error: () => error };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('MemoryBackend pacing', () => {
  it('a publish at the high-water mark waits, stores nothing meanwhile, and is admitted in order as the consumer takes events', async () => {
    const { backend, seen, release, queued } = await held();
    await backend.publish(broker, event(0)); // taken by the handler
    await waitFor(() => seen.length === 1);
    await backend.publish(broker, event(1));
    await backend.publish(broker, event(2)); // queue: 2 = high-water mark
    const a = track(backend.publish(broker, event(3)));
    const b = track(backend.publish(broker, event(4)));
    await settle();
    expect([a.state(), b.state(), queued()]).toEqual(['pending', 'pending', 2]);
    await release(); // event 1 taken: room for one
    await settle();
    expect([a.state(), b.state(), queued()]).toEqual(['stored', 'pending', 2]);
    await release();
    await settle();
    expect([b.state(), queued()]).toEqual(['stored', 2]);
    for (let i = 0; i < 2; i++) await release();
    expect(seen.map((s) => (s.event.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a new publish queues behind waiting ones even when a queue went below the mark meanwhile', async () => {
    const { backend, seen, release } = await held();
    await backend.publish(broker, event(0));
    await waitFor(() => seen.length === 1);
    await backend.publish(broker, event(1));
    await backend.publish(broker, event(2));
    const a = track(backend.publish(broker, event(3)));
    await settle();
    const b = track(backend.publish(broker, event(4)));
    await release();
    await settle();
    expect([a.state(), b.state()]).toEqual(['stored', 'pending']);
    for (let i = 0; i < 3; i++) await release();
    expect(seen.map((s) => (s.event.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it('the wait is bounded on the clock: past maxWaitMs the event is stored while there is room, refused at the limit', async () => {
    const { clock, backend, seen, queued } = await held({ maxQueued: 3, maxWaitMs: 500 });
    await backend.publish(broker, event(0));
    await waitFor(() => seen.length === 1);
    await backend.publish(broker, event(1));
    await backend.publish(broker, event(2));
    const a = track(backend.publish(broker, event(3)));
    clock.advance(499);
    await settle();
    expect(a.state()).toBe('pending');
    clock.advance(1);
    await settle();
    expect([a.state(), queued()]).toEqual(['stored', 3]);
    // At the limit: still waits first (the consumer may catch up), then 503 as without pacing.
    const b = track(backend.publish(broker, event(4)));
    clock.advance(500);
    await settle();
    expect(b.state()).toBe('refused');
    expect(b.error()).toBeInstanceOf(BackendFullError);
    expect((b.error() as Error).message).toBe('broker default/paced: queue of trigger default/slow is full (3 events waiting, limit 3)');
    expect(queued()).toBe(3);
  });

  it('close() refuses waiting publishes with BackendClosedError, deleteBroker with BrokerNotFoundError; nothing of them is stored', async () => {
    const first = await held();
    await first.backend.publish(broker, event(0));
    await waitFor(() => first.seen.length === 1);
    await first.backend.publish(broker, event(1));
    await first.backend.publish(broker, event(2));
    const waiting = first.backend.publish(broker, event(3));
    await first.backend.deleteBroker(broker);
    await expect(waiting).rejects.toBeInstanceOf(BrokerNotFoundError);
    expect(first.seen).toHaveLength(1);

    const second = await held({ maxWaitMs: 1000 });
    await second.backend.publish(broker, event(0));
    await waitFor(() => second.seen.length === 1);
    await second.backend.publish(broker, event(1));
    await second.backend.publish(broker, event(2));
    const w2 = second.backend.publish(broker, event(3));
    const closing = second.backend.close();
    await expect(w2).rejects.toBeInstanceOf(BackendClosedError);
    await closing;
    expect(second.seen).toHaveLength(1);
  });

  it('without pacing a full queue refuses at once (the default)', async () => {
    const backend = new MemoryBackend({ clock: new ManualClock(), closeTimeoutMs: 0, maxQueued: 1 });
    await backend.ensureBroker(broker);
    await backend.subscribe({ broker, trigger: 'default/stuck', maxInFlight: 1 }, () => new Promise<HandleOutcome>(() => undefined));
    await backend.publish(broker, event(0));
    await waitFor(() => backend.stats()[0]?.inFlight === 1);
    await backend.publish(broker, event(1));
    await expect(backend.publish(broker, event(2))).rejects.toBeInstanceOf(BackendFullError);
    await backend.close();
  });
});
