/**
 * The one contract every EventBackend passes (Memory, Redis/BullMQ, Kafka). Works with a ManualClock (the
 * factory returns it; retry back-offs are advanced inside waitFor) and with real time and real async I/O.
 * Every test uses unique broker and trigger names and waits on conditions, never on fixed sleeps.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudEvent } from 'cloudevents';
import type { BrokerRef, Consumer, EventBackend, HandleOutcome, StoredEvent } from '../../broker/types.js';
import type { ManualClock } from '../support/clock.js';
import { waitFor } from '../support/wait.js';

export interface EventBackendFixture {
  backend: EventBackend;
  clock?: ManualClock;
  cleanup(): Promise<void>;
}

const DONE: HandleOutcome = { kind: 'done' };

/** Records what one consumer saw. */
class Recorder {
  readonly seen: StoredEvent[] = [];
  ids(): string[] {
    return this.seen.map((s) => s.event.id);
  }
  handler = async (stored: StoredEvent): Promise<HandleOutcome> => {
    this.seen.push(stored);
    return DONE;
  };
}

/** broker/types.ts speaks `CloudEvent` (the SDK's `CloudEvent<undefined>`); events with data are widened to it. */
function asEvent(e: CloudEvent<unknown>): CloudEvent {
  return e as unknown as CloudEvent;
}

function makeEvent(extra: Record<string, unknown> = {}): CloudEvent {
  return asEvent(new CloudEvent<unknown>({ id: randomUUID(), type: 'dev.wisp.contract', source: '/contract', data: { n: 1 }, ...extra }));
}

export function describeEventBackendContract(name: string, factory: () => Promise<EventBackendFixture>): void {
  describe(`EventBackend contract: ${name}`, () => {
    let fx: EventBackendFixture | undefined;
    let consumers: Consumer[] = [];

    afterEach(async () => {
      await Promise.all(consumers.map((c) => c.close()));
      consumers = [];
      await fx?.cleanup();
      fx = undefined;
    });

    async function setup(): Promise<EventBackendFixture> {
      fx = await factory();
      return fx;
    }

    async function newBroker(backend: EventBackend): Promise<BrokerRef> {
      const broker = { namespace: `ns-${randomUUID().slice(0, 8)}`, name: `b-${randomUUID().slice(0, 8)}` };
      await backend.ensureBroker(broker);
      return broker;
    }

    async function subscribe(backend: EventBackend, broker: BrokerRef, handle: Recorder['handler'], maxInFlight = 10): Promise<Consumer> {
      const c = await backend.subscribe({ broker, trigger: `${broker.namespace}/t-${randomUUID().slice(0, 8)}`, maxInFlight }, handle);
      consumers.push(c);
      return c;
    }

    /** Waits for `check`, moving a manual clock forward on every poll so back-offs elapse. */
    function waitTicking<T>(check: () => T, what: string, tickMs = 50): Promise<NonNullable<T>> {
      return waitFor(() => {
        fx?.clock?.advance(tickMs);
        return check();
      }, { what, timeoutMs: 20_000 });
    }

    it('delivers a published event to a subscription, first attempt 0', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const rec = new Recorder();
      await subscribe(backend, broker, rec.handler);
      const e = makeEvent();
      await backend.publish(broker, e);
      await waitFor(() => rec.seen.length === 1, { what: 'delivery' });
      expect(rec.seen[0]?.event.id).toBe(e.id);
      expect(rec.seen[0]?.attempt).toBe(0);
    });

    it('fans out: each subscription gets each event exactly once', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const a = new Recorder();
      const b = new Recorder();
      await subscribe(backend, broker, a.handler, 1);
      await subscribe(backend, broker, b.handler, 1);
      const events = [makeEvent(), makeEvent(), makeEvent()];
      for (const e of events) await backend.publish(broker, e);
      // With one slot, order holds: once the marker arrives, any duplicate of earlier events would have too.
      const marker = makeEvent();
      await backend.publish(broker, marker);
      await waitFor(() => a.ids().includes(marker.id) && b.ids().includes(marker.id), { what: 'marker on both' });
      const expected = [...events, marker].map((e) => e.id);
      expect(a.ids()).toEqual(expected);
      expect(b.ids()).toEqual(expected);
    });

    it('does not deliver to subscriptions of other brokers', async () => {
      const { backend } = await setup();
      const one = await newBroker(backend);
      const two = await newBroker(backend);
      const recOne = new Recorder();
      const recTwo = new Recorder();
      await subscribe(backend, one, recOne.handler, 1);
      await subscribe(backend, two, recTwo.handler, 1);
      const e = makeEvent();
      await backend.publish(one, e);
      const marker = makeEvent();
      await backend.publish(two, marker);
      await waitFor(() => recOne.seen.length === 1 && recTwo.seen.length === 1, { what: 'both deliveries' });
      expect(recOne.ids()).toEqual([e.id]);
      expect(recTwo.ids()).toEqual([marker.id]);
    });

    it('a subscription created after a publish does not get the earlier event', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const early = new Recorder();
      await subscribe(backend, broker, early.handler, 1);
      const first = makeEvent();
      await backend.publish(broker, first);
      await waitFor(() => early.seen.length === 1, { what: 'first event' });
      const late = new Recorder();
      await subscribe(backend, broker, late.handler, 1);
      const second = makeEvent();
      await backend.publish(broker, second);
      await waitFor(() => late.seen.length >= 1 && early.seen.length === 2, { what: 'second event' });
      expect(late.ids()).toEqual([second.id]);
      expect(early.ids()).toEqual([first.id, second.id]);
    });

    it('redelivers after a retry outcome with attempt + 1', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const seen: StoredEvent[] = [];
      await subscribe(backend, broker, async (s) => {
        seen.push(s);
        return s.attempt < 2 ? { kind: 'retry', delayMs: 100 } : DONE;
      });
      const e = makeEvent();
      await backend.publish(broker, e);
      await waitTicking(() => seen.length === 3, 'three attempts');
      expect(seen.map((s) => [s.event.id, s.attempt])).toEqual([[e.id, 0], [e.id, 1], [e.id, 2]]);
    });

    it('never runs more than maxInFlight handlers at once under a burst of 50 events', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const limit = 3;
      let current = 0;
      let maxSeen = 0;
      let finished = 0;
      const pending: Array<() => void> = [];
      await subscribe(
        backend,
        broker,
        async () => {
          current++;
          maxSeen = Math.max(maxSeen, current);
          await new Promise<void>((release) => pending.push(release));
          current--;
          finished++;
          return DONE;
        },
        limit,
      );
      for (let i = 0; i < 50; i++) await backend.publish(broker, makeEvent({ data: { i } }));
      let released = 0;
      while (released < 50) {
        const want = Math.min(limit, 50 - released);
        await waitFor(() => pending.length >= want, { what: `${want} handlers running (released ${released})`, intervalMs: 2 });
        expect(current).toBeLessThanOrEqual(limit);
        for (const release of pending.splice(0)) {
          release();
          released++;
        }
      }
      await waitFor(() => finished === 50, { what: 'all 50 handled' });
      expect(maxSeen).toBe(limit);
    });

    it('with maxInFlight 1 handles events one at a time in arrival order, across a retry', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const events = Array.from({ length: 10 }, (_, i) => makeEvent({ data: { i } }));
      const order: string[] = [];
      let current = 0;
      let maxSeen = 0;
      await subscribe(
        backend,
        broker,
        async (s) => {
          current++;
          maxSeen = Math.max(maxSeen, current);
          order.push(`${s.event.id}@${s.attempt}`);
          await Promise.resolve();
          current--;
          return s.event.id === events[3]?.id && s.attempt === 0 ? { kind: 'retry', delayMs: 50 } : DONE;
        },
        1,
      );
      for (const e of events) await backend.publish(broker, e);
      await waitTicking(() => order.length === 11, 'eleven deliveries', 20);
      const expected = events.flatMap((e, i) => (i === 3 ? [`${e.id}@0`, `${e.id}@1`] : [`${e.id}@0`]));
      expect(order).toEqual(expected);
      expect(maxSeen).toBe(1);
    });

    it('a closed consumer gets no more events, and close waits for the handler in flight', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const closing = new Recorder();
      let release: (() => void) | undefined;
      const closingConsumer = await backend.subscribe({ broker, trigger: `${broker.namespace}/closing`, maxInFlight: 1 }, async (s) => {
        closing.seen.push(s);
        await new Promise<void>((r) => (release = r));
        return DONE;
      });
      const other = new Recorder();
      await subscribe(backend, broker, other.handler, 1);
      const first = makeEvent();
      await backend.publish(broker, first);
      await waitFor(() => closing.seen.length === 1 && release !== undefined, { what: 'first event in flight' });
      let closed = false;
      const closePromise = closingConsumer.close().then(() => (closed = true));
      await waitFor(() => other.seen.length === 1, { what: 'other consumer got the first event' });
      expect(closed).toBe(false);
      release?.();
      await closePromise;
      const second = makeEvent();
      await backend.publish(broker, second);
      await waitFor(() => other.seen.length === 2, { what: 'second event on the open consumer' });
      expect(closing.ids()).toEqual([first.id]);
    });

    it('deleteBroker stops its consumers', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const before = new Recorder();
      await subscribe(backend, broker, before.handler, 1);
      const first = makeEvent();
      await backend.publish(broker, first);
      await waitFor(() => before.seen.length === 1, { what: 'first event' });
      await backend.deleteBroker(broker);
      await backend.ensureBroker(broker);
      const after = new Recorder();
      await subscribe(backend, broker, after.handler, 1);
      const second = makeEvent();
      await backend.publish(broker, second);
      await waitFor(() => after.seen.length === 1, { what: 'second event on the new consumer' });
      expect(after.ids()).toEqual([second.id]);
      expect(before.ids()).toEqual([first.id]);
    });

    it('delivers the event unchanged: attributes, extensions, JSON and binary data', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const rec = new Recorder();
      await subscribe(backend, broker, rec.handler, 1);
      const json = new CloudEvent({
        id: randomUUID(),
        type: 'dev.wisp.contract.json',
        source: 'https://example.com/orders',
        subject: 'order-42',
        time: '2026-01-02T03:04:05.678Z',
        datacontenttype: 'application/json',
        dataschema: 'https://example.com/schema.json',
        data: { order: 42, items: ['a', 'b'], nested: { ok: true, none: null } },
        knativearrivaltime: '2026-01-02T03:04:06.000Z',
        partitionkey: 'order-42',
        priority: 7,
        urgent: true,
      });
      const bytes = Uint8Array.from([0, 1, 2, 250, 255, 10, 13]);
      const binary = new CloudEvent({
        id: randomUUID(),
        type: 'dev.wisp.contract.binary',
        source: '/contract/bytes',
        datacontenttype: 'application/octet-stream',
        data: bytes,
      });
      await backend.publish(broker, asEvent(json));
      await backend.publish(broker, asEvent(binary));
      await waitFor(() => rec.seen.length === 2, { what: 'both events' });
      const [gotJson, gotBinary] = rec.seen.map((s) => s.event);
      for (const attr of ['id', 'type', 'source', 'specversion', 'subject', 'time', 'datacontenttype', 'dataschema']) {
        expect((gotJson as unknown as Record<string, unknown>)[attr]).toEqual((json as unknown as Record<string, unknown>)[attr]);
      }
      expect(gotJson?.data).toEqual(json.data);
      expect(gotJson?.['knativearrivaltime']).toBe('2026-01-02T03:04:06.000Z');
      expect(gotJson?.['partitionkey']).toBe('order-42');
      expect(String(gotJson?.['priority'])).toBe('7');
      expect(String(gotJson?.['urgent'])).toBe('true');
      expect(gotBinary?.id).toBe(binary.id);
      expect(gotBinary?.datacontenttype).toBe('application/octet-stream');
      expect([...Buffer.from(gotBinary?.data as unknown as Uint8Array)]).toEqual([...bytes]);
    });
  });
}
