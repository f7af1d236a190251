/**
 * The one contract every EventBackend passes (Memory, Redis/BullMQ, Kafka). Works with a ManualClock (the
 * factory returns it; retry back-offs are advanced inside waitFor) and with real time and real async I/O.
 * Every test uses unique broker and trigger names and waits on conditions, never on fixed sleeps.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudEvent } from 'cloudevents';
import type { BrokerRef, BrokerSettings, Consumer, EventBackend, HandleOutcome, StoredEvent } from '../../broker/types.js';
import { isRetriable } from '../../broker/errors.js';
import type { ManualClock } from '../support/clock.js';
import { waitFor } from '../support/wait.js';

export interface EventBackendFixture {
  backend: EventBackend;
  clock?: ManualClock;
  /**
   * Durable backends only (see EventBackendCapabilities): opens another backend on the same store, as a restarted
   * platform would. The fixture's cleanup closes every backend it opened.
   */
  reopen?(): Promise<EventBackend>;
  cleanup(): Promise<void>;
}

/** What a backend promises beyond the common contract; decides which cases run. */
export interface EventBackendCapabilities {
  /**
   * Subscriptions outlive their consumers and the process (Redis, Kafka): events published while no consumer
   * runs are kept for the trigger until `unsubscribe`. The fixture must provide `reopen`.
   */
  durable: boolean;
  /**
   * `publish` refuses past a backlog per Trigger (BrokerSettings `maxBacklog`: Memory, Redis). Without it (Kafka:
   * retention, no cap) the fixture's backend must refuse past BACKPRESSURE_LIMIT events queued for the store
   * (Kafka: `maxQueuedPublishes: BACKPRESSURE_LIMIT`), so the batch cases can put it under backpressure.
   */
  backlogCap?: boolean;
}

/** The limit the backpressure cases run against: `maxBacklog` for capped classes, the fixture's produce queue otherwise. */
export const BACKPRESSURE_LIMIT = 50;

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

export function describeEventBackendContract(
  name: string,
  factory: () => Promise<EventBackendFixture>,
  caps: EventBackendCapabilities = { durable: false },
): void {
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

    async function newBroker(backend: EventBackend, settings?: BrokerSettings): Promise<BrokerRef> {
      const broker = { namespace: `ns-${randomUUID().slice(0, 8)}`, name: `b-${randomUUID().slice(0, 8)}` };
      await backend.ensureBroker(broker, settings);
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

    it('publishBatch stores every event of the batch for every subscription, in order; an empty batch stores nothing', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend);
      const a = new Recorder();
      const b = new Recorder();
      await subscribe(backend, broker, a.handler, 1);
      await subscribe(backend, broker, b.handler, 1);
      const batch = Array.from({ length: 5 }, (_, i) => makeEvent({ data: { i } }));
      await backend.publishBatch(broker, batch);
      await backend.publishBatch(broker, []);
      const marker = makeEvent();
      await backend.publish(broker, marker);
      const expected = [...batch, marker].map((e) => e.id);
      await waitFor(() => a.ids().includes(marker.id) && b.ids().includes(marker.id), { what: 'marker on both' });
      expect(a.ids()).toEqual(expected);
      expect(b.ids()).toEqual(expected);
    });

    it('under backpressure a batch is stored whole or not at all: no event of a rejected batch is ever delivered', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend, { maxBacklog: BACKPRESSURE_LIMIT });
      const rec = new Recorder();
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      await subscribe(backend, broker, async (s) => {
        await gate; // a subscriber that does not keep up until every batch was answered
        return rec.handler(s);
      }, 1);
      // 40 batches of 10 at once: far more than the limit (50) can take.
      const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: 10 }, (_, i) => makeEvent({ data: { b, i } })));
      const results = await Promise.allSettled(batches.map((batch) => backend.publishBatch(broker, batch)));
      const accepted = batches.filter((_, i) => results[i]?.status === 'fulfilled');
      const rejected = batches.filter((_, i) => results[i]?.status === 'rejected');
      expect(accepted.length).toBeGreaterThan(0);
      expect(rejected.length).toBeGreaterThan(0);
      for (const r of results) if (r.status === 'rejected') expect(isRetriable(r.reason), String(r.reason)).toBe(true);
      open();
      const want = new Set(accepted.flat().map((e) => e.id));
      await waitFor(() => [...want].every((id) => rec.ids().includes(id)), { what: `${want.size} events of accepted batches`, timeoutMs: 30_000 });
      // One slot, arrival order: once the marker is in, anything stored of a rejected batch would be too.
      const marker = makeEvent();
      await backend.publish(broker, marker);
      await waitFor(() => rec.ids().includes(marker.id), { what: 'marker' });
      const refused = new Set(rejected.flat().map((e) => e.id));
      expect(rec.ids().filter((id) => refused.has(id))).toEqual([]);
      expect(new Set(rec.ids())).toEqual(new Set([...want, marker.id]));
      expect(rec.ids().length).toBe(want.size + 1);
    });

    it('a batch larger than the broker can ever take is refused whole with BatchTooLargeError (413, not retriable)', async () => {
      const { backend } = await setup();
      const broker = await newBroker(backend, { maxBacklog: BACKPRESSURE_LIMIT });
      const rec = new Recorder();
      await subscribe(backend, broker, rec.handler, 1);
      const tooMany = Array.from({ length: BACKPRESSURE_LIMIT + 1 }, () => makeEvent());
      const err = await backend.publishBatch(broker, tooMany).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'WISP_ERR_BATCH_TOO_LARGE', statusCode: 413, retriable: false });
      const marker = makeEvent();
      await backend.publish(broker, marker);
      await waitFor(() => rec.ids().includes(marker.id), { what: 'marker' });
      expect(rec.ids()).toEqual([marker.id]);
    });

    if (caps.backlogCap) {
      it('backlog cap: publish past maxBacklog events waiting rejects with BackendFullError (503) until the consumer catches up', async () => {
        const { backend } = await setup();
        const limit = 5;
        const broker = await newBroker(backend, { maxBacklog: limit });
        const rec = new Recorder();
        let open!: () => void;
        const gate = new Promise<void>((r) => (open = r));
        await subscribe(backend, broker, async (s) => {
          await gate;
          return rec.handler(s);
        }, 1);
        const first = makeEvent();
        await backend.publish(broker, first);
        const id = `${broker.namespace}/${broker.name}`;
        await waitFor(async () => (await backend.backlog?.())?.some((b) => b.broker === id && b.events === 0) === true, { what: 'first event taken by the consumer' });
        const waiting = Array.from({ length: limit }, () => makeEvent());
        for (const e of waiting) await backend.publish(broker, e);
        const err = await backend.publish(broker, makeEvent()).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'WISP_ERR_BACKEND_FULL', statusCode: 503, retriable: true, limit });
        const report = await backend.backlog?.();
        expect(report?.filter((b) => b.broker === id).map((b) => [b.events, b.limit])).toEqual([[limit, limit]]);
        open();
        await waitFor(() => rec.seen.length === limit + 1, { what: 'backlog drained' });
        const after = makeEvent();
        await backend.publish(broker, after);
        await waitFor(() => rec.ids().includes(after.id), { what: 'accepted again once drained' });
        expect(rec.ids()).toEqual([first, ...waiting, after].map((e) => e.id));
      });
    } else if (caps.durable) {
      it('no backlog cap: the class keeps its store\'s retention, maxBacklog does not apply', async () => {
        const { backend } = await setup();
        const broker = await newBroker(backend, { maxBacklog: 2 });
        const trigger = `${broker.namespace}/offline-${randomUUID().slice(0, 8)}`;
        const c = await backend.subscribe({ broker, trigger, maxInFlight: 1 }, new Recorder().handler);
        await c.close(); // durable: events are kept with no consumer running
        const events = Array.from({ length: 10 }, () => makeEvent());
        for (const e of events) await backend.publish(broker, e);
        const rec = new Recorder();
        consumers.push(await backend.subscribe({ broker, trigger, maxInFlight: 1 }, rec.handler));
        await waitFor(() => rec.seen.length === 10, { what: 'all 10 kept' });
        expect(rec.ids()).toEqual(events.map((e) => e.id));
      });
    }

    if (caps.durable) describeDurableCases();

    /** Cases for backends whose subscriptions outlive their consumers. */
    function describeDurableCases(): void {
      async function open(backend: EventBackend, broker: BrokerRef, trigger: string, handle: Recorder['handler'], maxInFlight = 1): Promise<Consumer> {
        const c = await backend.subscribe({ broker, trigger, maxInFlight }, handle);
        consumers.push(c);
        return c;
      }

      /** Publishes events one after another until stopped; records, per event, whether it started/finished before a mark. */
      function publishLoop(backend: EventBackend, broker: BrokerRef) {
        const published: Array<{ id: string; startedAt: number; finishedAt: number }> = [];
        let step = 0;
        let stop = false;
        const running = (async () => {
          while (!stop) {
            const e = makeEvent();
            const startedAt = ++step;
            await backend.publish(broker, e);
            published.push({ id: e.id, startedAt, finishedAt: ++step });
          }
        })();
        return {
          published,
          /** A point in the publish sequence. */
          mark: () => ++step,
          count: () => published.length,
          async stop(): Promise<void> {
            stop = true;
            await running;
          },
        };
      }

      it('durable: events published while the trigger has no consumer go to its next consumer', async () => {
        const { backend } = await setup();
        const broker = await newBroker(backend);
        const trigger = `${broker.namespace}/durable-${randomUUID().slice(0, 8)}`;
        const first = new Recorder();
        const c1 = await open(backend, broker, trigger, first.handler);
        const e1 = makeEvent();
        await backend.publish(broker, e1);
        await waitFor(() => first.seen.length === 1, { what: 'first event' });
        await c1.close();
        const offline = [makeEvent(), makeEvent(), makeEvent()];
        for (const e of offline) await backend.publish(broker, e);
        const second = new Recorder();
        await open(backend, broker, trigger, second.handler);
        await waitFor(() => second.seen.length === 3, { what: 'events kept while no consumer ran' });
        expect(second.ids()).toEqual(offline.map((e) => e.id));
        expect(second.seen.map((s) => s.attempt)).toEqual([0, 0, 0]);
        expect(first.ids()).toEqual([e1.id]);
      });

      it('durable: publish resolves only once the event is stored (a new backend on the same store delivers it)', async () => {
        const fixture = await setup();
        const broker = await newBroker(fixture.backend);
        const trigger = `${broker.namespace}/restart-${randomUUID().slice(0, 8)}`;
        const before = new Recorder();
        const c1 = await open(fixture.backend, broker, trigger, before.handler);
        await c1.close();
        const events = [makeEvent(), makeEvent()];
        for (const e of events) await fixture.backend.publish(broker, e);
        await fixture.backend.close(); // the platform stops right after the ingress answered 202
        expect(fixture.reopen).toBeTypeOf('function');
        const restarted = await (fixture.reopen as () => Promise<EventBackend>)();
        const after = new Recorder();
        await open(restarted, broker, trigger, after.handler);
        await waitFor(() => after.seen.length === 2, { what: 'events delivered after the restart' });
        expect(after.ids()).toEqual(events.map((e) => e.id));
        expect(before.seen).toEqual([]);
      });

      it('durable: unsubscribe stops keeping events for the trigger', async () => {
        const { backend } = await setup();
        const broker = await newBroker(backend);
        const trigger = `${broker.namespace}/gone-${randomUUID().slice(0, 8)}`;
        const sub = { broker, trigger, maxInFlight: 1 };
        const c1 = await open(backend, broker, trigger, new Recorder().handler);
        await c1.close();
        const kept = makeEvent();
        await backend.publish(broker, kept); // kept for the trigger, then forgotten with it
        await backend.unsubscribe(sub);
        await backend.unsubscribe(sub); // idempotent
        const dropped = makeEvent();
        await backend.publish(broker, dropped); // no subscription: stored nowhere
        const again = new Recorder();
        await open(backend, broker, trigger, again.handler);
        const marker = makeEvent();
        await backend.publish(broker, marker);
        // One slot, arrival order: anything kept from before would have come ahead of the marker.
        await waitFor(() => again.ids().includes(marker.id), { what: 'marker on the new subscription' });
        expect(again.ids()).toEqual([marker.id]);
      });

      it('durable: a trigger added while events flow gets every event published after its subscribe', async () => {
        const { backend } = await setup();
        const broker = await newBroker(backend);
        const steady = new Recorder();
        await open(backend, broker, `${broker.namespace}/steady-${randomUUID().slice(0, 8)}`, steady.handler, 10);
        const loop = publishLoop(backend, broker);
        await waitFor(() => loop.count() >= 20, { what: '20 events published' });
        const added = new Recorder();
        const subscribeStart = loop.mark();
        await open(backend, broker, `${broker.namespace}/added-${randomUUID().slice(0, 8)}`, added.handler, 10);
        const subscribed = loop.mark();
        await waitFor(() => loop.published.filter((p) => p.startedAt > subscribed).length >= 20, { what: '20 events after subscribe' });
        await loop.stop();
        const all = loop.published.map((p) => p.id);
        await waitFor(() => steady.seen.length >= all.length, { what: 'steady trigger got every event' });
        const after = loop.published.filter((p) => p.startedAt > subscribed).map((p) => p.id);
        const before = new Set(loop.published.filter((p) => p.finishedAt < subscribeStart).map((p) => p.id));
        await waitFor(() => after.every((id) => added.ids().includes(id)), { what: 'added trigger got the later events' });
        expect(added.ids().filter((id) => before.has(id))).toEqual([]);
        expect(new Set(steady.ids())).toEqual(new Set(all));
      });

      it('durable: a trigger removed while events flow stops receiving them', async () => {
        const { backend } = await setup();
        const broker = await newBroker(backend);
        const steady = new Recorder();
        await open(backend, broker, `${broker.namespace}/steady-${randomUUID().slice(0, 8)}`, steady.handler, 10);
        const trigger = `${broker.namespace}/removed-${randomUUID().slice(0, 8)}`;
        const removed = new Recorder();
        const c = await open(backend, broker, trigger, removed.handler, 10);
        const loop = publishLoop(backend, broker);
        await waitFor(() => removed.seen.length >= 10, { what: 'removed trigger receiving' });
        await c.close();
        await backend.unsubscribe({ broker, trigger, maxInFlight: 10 });
        const unsubscribed = loop.mark();
        await waitFor(() => loop.published.filter((p) => p.startedAt > unsubscribed).length >= 20, { what: '20 events after unsubscribe' });
        await loop.stop();
        const later = new Set(loop.published.filter((p) => p.startedAt > unsubscribed).map((p) => p.id));
        expect(removed.ids().filter((id) => later.has(id))).toEqual([]);
        // Nothing was kept for it either: the same trigger subscribed again sees only what comes next.
        const again = new Recorder();
        await open(backend, broker, trigger, again.handler, 1);
        const marker = makeEvent();
        await backend.publish(broker, marker);
        await waitFor(() => again.ids().includes(marker.id), { what: 'marker on the re-added trigger' });
        expect(again.ids()).toEqual([marker.id]);
        await waitFor(() => steady.seen.length >= loop.published.length + 1, { what: 'steady trigger got every event' });
        expect(new Set(steady.ids())).toEqual(new Set([...loop.published.map((p) => p.id), marker.id]));
      });
    }
  });
}
