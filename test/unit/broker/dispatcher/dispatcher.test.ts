import { CloudEvent } from 'cloudevents';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../../broker/backends/memory.js';
import { DispatcherClosedError, resolveDelivery } from '../../../../broker/delivery/index.js';
import { BackendFullError } from '../../../../broker/errors.js';
import { Dispatcher } from '../../../../broker/dispatcher/index.js';
import type { BrokerRef, DeliverySpec, TriggerRuntime } from '../../../../broker/types.js';
import { ManualClock } from '../../../support/clock.js';
import { waitFor } from '../../../support/wait.js';
import { scriptedServer, type Answer, type ScriptedServer } from './servers.js';

const DEFAULT: BrokerRef = { namespace: 'default', name: 'default' };
const OTHER: BrokerRef = { namespace: 'default', name: 'other' };

let clock: ManualClock;
let backend: MemoryBackend;
let registry: Registry;
let dispatcher: Dispatcher;
let servers: ScriptedServer[];
let warnings: string[];

beforeEach(async () => {
  clock = new ManualClock();
  backend = new MemoryBackend({ clock, closeTimeoutMs: 0 });
  await backend.ensureBroker(DEFAULT);
  await backend.ensureBroker(OTHER);
  registry = new Registry();
  servers = [];
  warnings = [];
  dispatcher = new Dispatcher({
    clock,
    registry,
    publishReply: (broker, event) => backend.publish(broker, event),
    logger: { info: () => {}, warn: (m) => warnings.push(m) },
  });
});

afterEach(async () => {
  await dispatcher.close();
  await backend.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function server(script: Answer[]): Promise<ScriptedServer> {
  const s = await scriptedServer(script);
  servers.push(s);
  return s;
}

function trigger(name: string, subscriberUri: string, delivery: DeliverySpec = {}, over: Partial<TriggerRuntime> = {}, dls?: string): TriggerRuntime {
  return {
    key: `default/${name}`,
    namespace: 'default',
    name,
    broker: 'default',
    filter: () => true,
    subscriberUri,
    delivery: resolveDelivery(delivery, dls),
    maxInFlight: 1,
    ...over,
  };
}

function ev(id: string, type = 'dev.wisp.order'): CloudEvent<unknown> {
  return new CloudEvent<unknown>({ id, source: '/test', type, data: { id } }) as unknown as CloudEvent;
}

async function value(name: string, trigger: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (m === undefined) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.filter((v) => v.labels.trigger === trigger && v.labels.broker === 'default/default').reduce((a, v) => a + v.value, 0);
}

describe('Dispatcher', () => {
  it('delivers through the backend consumer it starts; removeTrigger stops it', async () => {
    const sub = await server([{ status: 202 }]);
    await dispatcher.upsertTrigger(trigger('t1', sub.url), backend);
    expect(dispatcher.triggers()).toEqual(['default/t1']);
    await backend.publish(DEFAULT, ev('a'));
    await waitFor(() => sub.received.length === 1);
    expect(sub.received[0]?.event.id).toBe('a');

    await dispatcher.removeTrigger('default/t1');
    expect(dispatcher.triggers()).toEqual([]);
    await backend.publish(DEFAULT, ev('b'));
    expect(backend.stats()).toEqual([]);
    expect(sub.received).toHaveLength(1);
    await dispatcher.removeTrigger('default/unknown');
  });

  it('swaps subscriber and delivery in place: a pending retry goes to the new subscriber', async () => {
    const a = await server([{ status: 500 }]);
    const b = await server([{ status: 202 }]);
    await dispatcher.upsertTrigger(trigger('t1', a.url, { retry: 3, backoffDelay: 'PT1S' }), backend);
    await backend.publish(DEFAULT, ev('x'));
    await waitFor(() => a.received.length === 1 && clock.pendingTimers() === 1, { what: 'retry scheduled' });

    await dispatcher.upsertTrigger(trigger('t1', b.url, { retry: 3, backoffDelay: 'PT1S' }), backend);
    expect(backend.stats()).toHaveLength(1);
    clock.advance(2000);
    await waitFor(() => b.received.length === 1, { what: 'retry at new subscriber' });
    expect(b.received[0]?.event.id).toBe('x');
    expect(a.received).toHaveLength(1);
    await waitFor(async () => (await value('wisp_trigger_events_delivered_total', 'default/t1')) === 1);
  });

  it('resubscribes when the broker changes', async () => {
    const sub = await server([{ status: 202 }]);
    await dispatcher.upsertTrigger(trigger('t1', sub.url), backend);
    await dispatcher.upsertTrigger(trigger('t1', sub.url, {}, { broker: 'other' }), backend);
    expect(backend.stats().map((s) => s.broker)).toEqual(['default/other']);
    await backend.publish(DEFAULT, ev('to-default'));
    await backend.publish(OTHER, ev('to-other'));
    await waitFor(() => sub.received.length === 1);
    expect(sub.received[0]?.event.id).toBe('to-other');
  });

  it('reply events go back into the broker and are evaluated against every trigger', async () => {
    const fn = await server([
      { status: 200, headers: { 'ce-id': 'reply-1', 'ce-source': '/fn', 'ce-type': 'dev.wisp.reply', 'ce-specversion': '1.0', 'content-type': 'application/json' }, body: '{"done":true}' },
      { status: 202 },
    ]);
    const display = await server([{ status: 202 }]);
    await dispatcher.upsertTrigger(trigger('fn', fn.url, {}, { filter: (e) => e.type === 'dev.wisp.order' }), backend);
    await dispatcher.upsertTrigger(trigger('display', display.url, {}, { filter: (e) => e.type === 'dev.wisp.reply' }), backend);
    await backend.publish(DEFAULT, ev('order-1'));
    await waitFor(() => display.received.length === 1, { what: 'reply delivered to display' });
    expect(display.received[0]?.event.id).toBe('reply-1');
    expect(display.received[0]?.event.data).toEqual({ done: true });
    expect(fn.received).toHaveLength(1);
    await waitFor(async () => (await value('wisp_trigger_events_filtered_total', 'default/fn')) === 1);
    expect(await value('wisp_trigger_events_filtered_total', 'default/display')).toBe(1);
  });

  it('accounts for every event: handled = filtered + delivered + dead-lettered + dropped, per trigger', async () => {
    // t1 (with a dead-letter sink) and t2 (without) see the same six events.
    const s1 = await server([{ status: 202 }, { status: 400 }, { status: 503 }, { status: 202 }]);
    const s2 = await server([{ status: 400 }, { status: 202 }]);
    const dls = await server([{ status: 202 }]);
    const onlyOrders = (e: CloudEvent<unknown>): boolean => e.type === 'dev.wisp.order';
    await dispatcher.upsertTrigger(trigger('t1', s1.url, { retry: 1, backoffDelay: 'PT0.01S' }, { filter: onlyOrders }, dls.url), backend);
    await dispatcher.upsertTrigger(trigger('t2', s2.url, { retry: 0 }, { filter: onlyOrders }), backend);
    const events = [ev('1'), ev('2', 'dev.wisp.other'), ev('3'), ev('4'), ev('5', 'dev.wisp.other'), ev('6')];
    for (const e of events) await backend.publish(DEFAULT, e);

    const total = async (t: string): Promise<number> =>
      (await value('wisp_trigger_events_filtered_total', t)) +
      (await value('wisp_trigger_events_delivered_total', t)) +
      (await value('wisp_trigger_events_dead_lettered_total', t)) +
      (await value('wisp_trigger_events_dropped_total', t));
    await waitFor(
      async () => {
        if (clock.pendingTimers() > 0) clock.advance(20);
        return (await total('default/t1')) === 6 && (await total('default/t2')) === 6;
      },
      { intervalMs: 5, what: 'all events handled' },
    );
    // t1: 1 → 202, 3 → 400 (dead letter), 4 → 503 then 202 (retried, delivered), 6 → 202
    expect(await value('wisp_trigger_events_filtered_total', 'default/t1')).toBe(2);
    expect(await value('wisp_trigger_events_delivered_total', 'default/t1')).toBe(3);
    expect(await value('wisp_trigger_events_dead_lettered_total', 'default/t1')).toBe(1);
    expect(await value('wisp_trigger_events_dropped_total', 'default/t1')).toBe(0);
    expect(await value('wisp_trigger_events_retried_total', 'default/t1')).toBe(1);
    // t2: 1 → 400 (dropped), 3, 4, 6 → 202
    expect(await value('wisp_trigger_events_filtered_total', 'default/t2')).toBe(2);
    expect(await value('wisp_trigger_events_delivered_total', 'default/t2')).toBe(3);
    expect(await value('wisp_trigger_events_dropped_total', 'default/t2')).toBe(1);
    expect(dls.received.map((r) => r.event.id)).toEqual(['3']);
    expect(warnings.some((w) => w.startsWith('trigger default/t2: dropped event 1 after 1 attempt(s): HTTP 400'))).toBe(true);

    const durations = registry.getSingleMetric('wisp_trigger_delivery_duration_seconds');
    const text = await registry.metrics();
    expect(durations).toBeDefined();
    expect(text).toContain('wisp_trigger_delivery_duration_seconds_count{broker="default/default",trigger="default/t1"} 5');
  });

  it('reports events in flight per trigger', async () => {
    const slow = await server([{ status: 0, hang: true }]);
    await dispatcher.upsertTrigger(trigger('t1', slow.url, { retry: 0, timeout: 'PT0.3S' }), backend);
    await backend.publish(DEFAULT, ev('slow'));
    await waitFor(() => slow.received.length === 1);
    expect(await value('wisp_trigger_in_flight', 'default/t1')).toBe(1);
    await waitFor(async () => (await value('wisp_trigger_events_dropped_total', 'default/t1')) === 1, { what: 'timeout then drop' });
    expect(await value('wisp_trigger_in_flight', 'default/t1')).toBe(0);
  });

  it('rejects new triggers once closed; close is idempotent', async () => {
    const sub = await server([{ status: 202 }]);
    await dispatcher.close();
    await dispatcher.close();
    await expect(dispatcher.upsertTrigger(trigger('t1', sub.url), backend)).rejects.toBeInstanceOf(DispatcherClosedError);
  });
});

describe('Dispatcher on the Memory backend: filters evaluated at publish', () => {
  const isType =
    (type: string, calls?: { n: number }) =>
    (e: CloudEvent<unknown>): boolean => {
      if (calls !== undefined) calls.n++;
      return e.type === type;
    };

  it('queues an event only for the Triggers whose filter matches; each filter runs once per event; filtered counted', async () => {
    const a = await server([{ status: 0, hang: true }]);
    const b = await server([{ status: 0, hang: true }]);
    const callsA = { n: 0 };
    const callsB = { n: 0 };
    await dispatcher.upsertTrigger(trigger('ta', a.url, { retry: 0, timeout: 'PT0.3S' }, { filter: isType('dev.wisp.a', callsA) }), backend);
    await dispatcher.upsertTrigger(trigger('tb', b.url, { retry: 0, timeout: 'PT0.3S' }, { filter: isType('dev.wisp.b', callsB) }), backend);
    await backend.publish(DEFAULT, ev('a1', 'dev.wisp.a'));
    for (const id of ['b1', 'b2', 'b3']) await backend.publish(DEFAULT, ev(id, 'dev.wisp.b'));
    await backend.publishBatch(DEFAULT, [ev('c1', 'dev.wisp.c'), ev('b4', 'dev.wisp.b')]);
    // ta holds a1 (in flight) and nothing else; tb holds b1 in flight and b2, b3, b4 waiting, in order.
    const byTrigger = Object.fromEntries(backend.stats().map((s) => [s.trigger, { queued: s.queued, inFlight: s.inFlight }]));
    expect(byTrigger).toEqual({ 'default/ta': { queued: 0, inFlight: 1 }, 'default/tb': { queued: 3, inFlight: 1 } });
    expect((await backend.backlog()).map((x) => [x.trigger, x.events])).toEqual([
      ['default/ta', 0],
      ['default/tb', 3],
    ]);
    expect(await value('wisp_trigger_events_filtered_total', 'default/ta')).toBe(5);
    expect(await value('wisp_trigger_events_filtered_total', 'default/tb')).toBe(2);
    await waitFor(() => b.received.length === 4, { what: 'every b event delivered to tb in turn', timeoutMs: 5_000 });
    expect(b.received.map((r) => r.event.id)).toEqual(['b1', 'b2', 'b3', 'b4']);
    expect(a.received.map((r) => r.event.id)).toEqual(['a1']);
    // Once at publish, not again in the handler.
    expect(callsA.n).toBe(6);
    expect(callsB.n).toBe(6);
    await waitFor(async () => (await value('wisp_trigger_events_dropped_total', 'default/tb')) === 4, { what: 'timeouts' });
    expect(await value('wisp_trigger_events_filtered_total', 'default/tb')).toBe(2);
  });

  it('the backlog limit counts only events queued for delivery: events a Trigger filters out take no room', async () => {
    await backend.ensureBroker(DEFAULT, { maxBacklog: 3 });
    const slow = await server([{ status: 0, hang: true }]);
    await dispatcher.upsertTrigger(trigger('slow', slow.url, { retry: 0, timeout: 'PT0.3S' }, { filter: isType('dev.wisp.order') }), backend);
    await backend.publish(DEFAULT, ev('o1'));
    for (let i = 0; i < 10; i++) await backend.publish(DEFAULT, ev(`x${i}`, 'dev.wisp.other'));
    await backend.publish(DEFAULT, ev('o2'));
    // 1 waiting + a batch of 3 would pass the limit if all matched; one of them does, so it fits.
    await backend.publishBatch(DEFAULT, [ev('x10', 'dev.wisp.other'), ev('o3'), ev('x11', 'dev.wisp.other')]);
    await backend.publish(DEFAULT, ev('o4'));
    expect(backend.stats()[0]).toMatchObject({ queued: 3, inFlight: 1 });
    await expect(backend.publish(DEFAULT, ev('o5'))).rejects.toBeInstanceOf(BackendFullError);
    // A full queue still accepts what its filter rejects anyway (it takes no room).
    await backend.publish(DEFAULT, ev('x12', 'dev.wisp.other'));
    expect(await value('wisp_trigger_events_filtered_total', 'default/slow')).toBe(13);
    await waitFor(() => slow.received.length === 4, { what: 'o1-o4 sent in turn', timeoutMs: 5_000 });
    expect(slow.received.map((r) => r.event.id)).toEqual(['o1', 'o2', 'o3', 'o4']);
    await waitFor(async () => (await value('wisp_trigger_events_dropped_total', 'default/slow')) === 4, { what: 'timeouts' });
  });

  it('a filter change applies to events published afterwards, and to queued events when they are taken', async () => {
    const sub = await server([{ status: 0, hang: true }, { status: 202 }]);
    const callsOld = { n: 0 };
    const callsNew = { n: 0 };
    const t = (filter: (e: CloudEvent<unknown>) => boolean): TriggerRuntime => trigger('t1', sub.url, { retry: 0, timeout: 'PT0.3S' }, { filter });
    await dispatcher.upsertTrigger(t(isType('dev.wisp.a', callsOld)), backend);
    for (const id of ['a1', 'a2', 'a3']) await backend.publish(DEFAULT, ev(id, 'dev.wisp.a'));
    await backend.publish(DEFAULT, ev('b1', 'dev.wisp.b'));
    expect(backend.stats()[0]).toMatchObject({ queued: 2, inFlight: 1 });

    // Same broker and maxInFlight: the runtime is swapped in place, the queue is kept.
    await dispatcher.upsertTrigger(
      t((e) => {
        callsNew.n++;
        return e.id === 'a3' || e.type === 'dev.wisp.b';
      }),
      backend,
    );
    await backend.publish(DEFAULT, ev('b2', 'dev.wisp.b'));
    await backend.publish(DEFAULT, ev('a4', 'dev.wisp.a'));
    expect(backend.stats()[0]).toMatchObject({ queued: 3, inFlight: 1 });

    // a1 times out; a2 (queued under the old filter) fails the new one when taken; a3 passes it; b2 was matched at publish.
    await waitFor(() => sub.received.length === 3, { what: 'a1, a3, b2 sent', timeoutMs: 5_000 });
    expect(sub.received.map((r) => r.event.id)).toEqual(['a1', 'a3', 'b2']);
    expect(callsOld.n).toBe(4);
    // New filter: b2 and a4 at publish, a2 and a3 when taken (b2 is not evaluated again).
    expect(callsNew.n).toBe(4);
    await waitFor(async () => (await value('wisp_trigger_events_delivered_total', 'default/t1')) === 2);
    // b1 and a4 at publish, a2 when taken.
    expect(await value('wisp_trigger_events_filtered_total', 'default/t1')).toBe(3);
  });

  it('a filter that throws is no match at publish, logged; the event still reaches the other Triggers', async () => {
    const ok = await server([{ status: 202 }]);
    await dispatcher.upsertTrigger(
      trigger('bad', ok.url, {}, {
        filter: () => {
          throw new Error('boom');
        },
      }),
      backend,
    );
    await dispatcher.upsertTrigger(trigger('good', ok.url), backend);
    await backend.publish(DEFAULT, ev('e1'));
    await waitFor(() => ok.received.length === 1);
    expect(await value('wisp_trigger_events_filtered_total', 'default/bad')).toBe(1);
    expect(warnings.some((w) => w.startsWith('trigger default/bad: filter failed on event e1 (treated as no match): boom'))).toBe(true);
  });
});
