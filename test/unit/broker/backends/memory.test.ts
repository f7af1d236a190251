import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { MemoryBackend, backendForClass } from '../../../../broker/backends/index.js';
import { BackendClosedError, BackendFullError, BrokerNotFoundError, type HandlerFailedError } from '../../../../broker/errors.js';
import type { EventFilter, HandleOutcome, StoredEvent, TriggerPrefilter } from '../../../../broker/types.js';
import { describeEventBackendContract } from '../../../contract/event-backend.js';
import { systemClock } from '../../../../src/clock.js';
import { ManualClock } from '../../../support/clock.js';
import { waitFor } from '../../../support/wait.js';

describeEventBackendContract('MemoryBackend', async () => {
  const clock = new ManualClock();
  const backend = new MemoryBackend({ clock });
  return { backend, clock, cleanup: () => backend.close() };
}, { durable: false, backlogCap: true });

// The same suite on real time, as the Redis and Kafka backends will run it (no ManualClock to advance).
describeEventBackendContract('MemoryBackend on the system clock', async () => {
  const backend = new MemoryBackend({ clock: systemClock });
  return { backend, cleanup: () => backend.close() };
}, { durable: false, backlogCap: true });

const DONE: HandleOutcome = { kind: 'done' };
const broker = { namespace: 'default', name: 'default' };
const event = (i = 0): CloudEvent<unknown> =>
  new CloudEvent<unknown>({ id: `e-${i}-${randomUUID()}`, type: 't', source: '/s', data: { i } }) as unknown as CloudEvent;

describe('MemoryBackend', () => {
  it('serves the in-memory broker classes', () => {
    const mem = new MemoryBackend({ clock: new ManualClock() });
    expect(backendForClass([mem], 'MTChannelBasedBroker')).toBe(mem);
    expect(backendForClass([mem], 'Memory')).toBe(mem);
    expect(backendForClass([mem], 'Kafka')).toBeUndefined();
  });

  it('rejects publish with a retriable BackendFullError when a queue holds maxQueued, enqueueing nowhere', async () => {
    const backend = new MemoryBackend({ clock: new ManualClock(), maxQueued: 2 });
    await backend.ensureBroker(broker);
    const release: Array<() => void> = [];
    const slow: StoredEvent[] = [];
    const fast: StoredEvent[] = [];
    await backend.subscribe({ broker, trigger: 'default/slow', maxInFlight: 1 }, async (s) => {
      slow.push(s);
      await new Promise<void>((r) => release.push(r));
      return DONE;
    });
    await backend.subscribe({ broker, trigger: 'default/fast', maxInFlight: 1 }, async (s) => {
      fast.push(s);
      return DONE;
    });
    await backend.publish(broker, event(0)); // taken by the slow handler
    await waitFor(() => slow.length === 1);
    await backend.publish(broker, event(1));
    await backend.publish(broker, event(2)); // slow queue: 2 waiting = full
    await waitFor(() => fast.length === 3);
    const err = await backend.publish(broker, event(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendFullError);
    expect(err).toMatchObject({ code: 'WISP_ERR_BACKEND_FULL', retriable: true, statusCode: 503 });
    expect((err as Error).message).toBe('broker default/default: queue of trigger default/slow is full (2 events waiting, limit 2)');
    expect(backend.stats()).toEqual([
      { broker: 'default/default', trigger: 'default/slow', queued: 2, inFlight: 1 },
      { broker: 'default/default', trigger: 'default/fast', queued: 0, inFlight: 0 },
    ]);
    // all-or-nothing: the fast subscription did not get the rejected event either
    for (const r of release.splice(0)) r();
    await waitFor(() => slow.length === 2);
    await backend.publish(broker, event(4));
    await waitFor(() => fast.length === 4);
    expect(fast.map((s) => s.event.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 4 }]);
    const closing = backend.close(); // drops the queued events; waits for the one in flight
    for (const r of release.splice(0)) r();
    await closing;
    expect(slow.length).toBe(2);
  });

  it('a prefilter is evaluated at publish: only matching events are queued, in order, each marked with the filter it passed; the rest counted once per publish', async () => {
    const backend = new MemoryBackend({ clock: new ManualClock(), maxQueued: 4 });
    await backend.ensureBroker(broker);
    const even: EventFilter = (e) => ((e.data as { i: number }).i & 1) === 0;
    const counts: number[] = [];
    const prefilter: TriggerPrefilter = { matches: (e) => (even(e) ? even : undefined), filtered: (n) => counts.push(n) };
    const release: Array<() => void> = [];
    const seen: StoredEvent[] = [];
    const all: number[] = [];
    await backend.subscribe({ broker, trigger: 'default/even', maxInFlight: 1, prefilter }, async (s) => {
      seen.push(s);
      await new Promise<void>((r) => release.push(r));
      return DONE;
    });
    // Without a prefilter a subscription gets every event (the handler filters), as Redis and Kafka do.
    await backend.subscribe({ broker, trigger: 'default/all', maxInFlight: 100 }, async (s) => {
      all.push((s.event.data as { i: number }).i);
      return DONE;
    });
    await backend.publishBatch(broker, [event(0), event(1), event(2), event(3)]);
    await backend.publish(broker, event(5));
    expect(counts).toEqual([2, 1]);
    // even: 0 taken, 2 waiting; four more even events would make 5 > 4 waiting: refused, nothing stored anywhere.
    await expect(backend.publishBatch(broker, [event(4), event(6), event(8), event(10)])).rejects.toBeInstanceOf(BackendFullError);
    expect(counts).toEqual([2, 1]);
    await backend.publishBatch(broker, [event(4), event(7)]);
    expect(counts).toEqual([2, 1, 1]);
    await waitFor(() => all.length === 7);
    expect(all).toEqual([0, 1, 2, 3, 5, 4, 7]);
    for (let i = 0; i < 3; i++) {
      await waitFor(() => release.length === i + 1);
      release[i]?.();
    }
    await waitFor(() => seen.length === 3);
    expect(seen.map((s) => (s.event.data as { i: number }).i)).toEqual([0, 2, 4]);
    expect(seen.every((s) => s.matched === even && s.attempt === 0)).toBe(true);
    await backend.close();
  });

  it('publish to a broker that was never ensured (or was deleted) rejects with BrokerNotFoundError', async () => {
    const backend = new MemoryBackend({ clock: new ManualClock() });
    await expect(backend.publish({ namespace: 'x', name: 'nope' }, event())).rejects.toBeInstanceOf(BrokerNotFoundError);
    await backend.ensureBroker(broker);
    await backend.publish(broker, event());
    await backend.deleteBroker(broker);
    await expect(backend.publish(broker, event())).rejects.toThrow('broker default/default not found');
    await backend.close();
  });

  it('after close, publish and subscribe reject with a retriable BackendClosedError', async () => {
    const backend = new MemoryBackend({ clock: new ManualClock() });
    await backend.ensureBroker(broker);
    await backend.close();
    const err = await backend.publish(broker, event()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendClosedError);
    expect(err).toMatchObject({ retriable: true });
    await expect(backend.subscribe({ broker, trigger: 'default/t', maxInFlight: 1 }, async () => DONE)).rejects.toBeInstanceOf(BackendClosedError);
  });

  it('a throwing handler is reported through onError and counted as done; the next event still flows', async () => {
    const errors: HandlerFailedError[] = [];
    const backend = new MemoryBackend({ clock: new ManualClock(), onError: (e) => errors.push(e) });
    await backend.ensureBroker(broker);
    const seen: string[] = [];
    await backend.subscribe({ broker, trigger: 'default/buggy', maxInFlight: 1 }, async (s) => {
      seen.push(s.event.id);
      if (seen.length === 1) throw new Error('boom');
      if (seen.length === 2) return { kind: 'nope' } as unknown as HandleOutcome;
      return DONE;
    });
    const [a, b, c] = [event(1), event(2), event(3)];
    await backend.publish(broker, a);
    await backend.publish(broker, b);
    await backend.publish(broker, c);
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual([a.id, b.id, c.id]);
    expect(errors.map((e) => e.message)).toEqual([
      `trigger default/buggy: handler for event ${a.id} threw: boom; the event counts as done`,
      `trigger default/buggy: handler for event ${b.id} returned an invalid outcome {"kind":"nope"}; the event counts as done`,
    ]);
    expect(errors[0]?.code).toBe('WISP_ERR_HANDLER_FAILED');
    await backend.close();
  });

  it('a retry waits delayMs on the injected clock and holds its slot; close drops the waiting retry', async () => {
    const clock = new ManualClock();
    const backend = new MemoryBackend({ clock });
    await backend.ensureBroker(broker);
    const seen: Array<[string, number]> = [];
    const consumer = await backend.subscribe({ broker, trigger: 'default/r', maxInFlight: 1 }, async (s) => {
      seen.push([s.event.id, s.attempt]);
      return { kind: 'retry', delayMs: 1000 };
    });
    const [a, b] = [event(1), event(2)];
    await backend.publish(broker, a);
    await backend.publish(broker, b);
    await waitFor(() => seen.length === 1 && clock.pendingTimers() === 1);
    clock.advance(999);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([[a.id, 0]]);
    expect(backend.stats()[0]).toMatchObject({ queued: 1, inFlight: 1 });
    clock.advance(1);
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([[a.id, 0], [a.id, 1]]);
    await waitFor(() => clock.pendingTimers() === 1);
    await consumer.close();
    expect(clock.pendingTimers()).toBe(0);
    expect(backend.stats()).toEqual([]);
    await backend.close();
  });

  it('close() is bounded: a handler that never finishes does not hold it past closeTimeoutMs', async () => {
    const clock = new ManualClock();
    const backend = new MemoryBackend({ clock, closeTimeoutMs: 5000 });
    await backend.ensureBroker(broker);
    let started = false;
    await backend.subscribe({ broker, trigger: 'default/stuck', maxInFlight: 1 }, () => {
      started = true;
      return new Promise<HandleOutcome>(() => undefined);
    });
    await backend.publish(broker, event());
    await waitFor(() => started);
    let closed = false;
    const closing = backend.close().then(() => (closed = true));
    clock.advance(4999);
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(closed).toBe(true);
  });
});
