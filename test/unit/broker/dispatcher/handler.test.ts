import { CloudEvent } from 'cloudevents';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../../broker/backends/memory.js';
import { resolveDelivery } from '../../../../broker/delivery/index.js';
import { Dispatcher } from '../../../../broker/dispatcher/index.js';
import { EventData } from '../../../../broker/event-data.js';
import type { BrokerRef, DeliverySpec, HandleOutcome, TriggerRuntime } from '../../../../broker/types.js';
import { ManualClock } from '../../../support/clock.js';
import { freePort, waitFor } from '../../../support/wait.js';
import { scriptedServer, type Answer, type ScriptedServer } from './servers.js';

const BROKER: BrokerRef = { namespace: 'default', name: 'default' };

let clock: ManualClock;
let backend: MemoryBackend;
let registry: Registry;
let dispatcher: Dispatcher;
let servers: ScriptedServer[];
let replies: { broker: BrokerRef; event: CloudEvent<unknown> }[];
let logs: { level: 'info' | 'warn'; m: string }[];
let outcomes: (HandleOutcome & { attempt: number })[];

beforeEach(() => {
  clock = new ManualClock();
  backend = new MemoryBackend({ clock, closeTimeoutMs: 0 });
  registry = new Registry();
  servers = [];
  replies = [];
  logs = [];
  outcomes = [];
  dispatcher = new Dispatcher({
    clock,
    registry,
    publishReply: async (broker, event) => {
      replies.push({ broker, event });
    },
    logger: { info: (m) => logs.push({ level: 'info', m }), warn: (m) => logs.push({ level: 'warn', m }) },
  });
});

afterEach(async () => {
  await backend.close();
  await dispatcher.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function server(script: Answer[]): Promise<ScriptedServer> {
  const s = await scriptedServer(script);
  servers.push(s);
  return s;
}

function runtime(subscriberUri: string, delivery: DeliverySpec, dls?: string, over: Partial<TriggerRuntime> = {}): TriggerRuntime {
  return {
    key: 'default/t1',
    namespace: 'default',
    name: 't1',
    broker: 'default',
    filter: () => true,
    subscriberUri,
    delivery: resolveDelivery(delivery, dls),
    maxInFlight: 1,
    ...over,
  };
}

/** Subscribes the dispatcher's handler for `rt` on the real MemoryBackend, recording each outcome. */
async function subscribe(rt: TriggerRuntime): Promise<void> {
  const handle = dispatcher.handlerFor(() => rt);
  await backend.ensureBroker(BROKER);
  await backend.subscribe({ broker: BROKER, trigger: rt.key, maxInFlight: rt.maxInFlight }, async (stored) => {
    const o = await handle(stored);
    outcomes.push({ ...o, attempt: stored.attempt });
    return o;
  });
}

/** Moves the manual clock through back-offs until `cond` holds. */
async function drive(cond: () => boolean, what: string): Promise<void> {
  await waitFor(
    () => {
      if (cond()) return true;
      if (clock.pendingTimers() > 0) clock.advance(50);
      return false;
    },
    { intervalMs: 5, what },
  );
}

function ev(id = 'e-1', extra: Record<string, unknown> = {}): CloudEvent<unknown> {
  return new CloudEvent<unknown>({ id, source: '/test', type: 'dev.wisp.order', data: { n: 1 }, ...extra }) as unknown as CloudEvent;
}

async function count(name: string, trigger = 'default/t1'): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (m === undefined) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.filter((v) => v.labels.trigger === trigger && v.labels.broker === 'default/default').reduce((a, v) => a + v.value, 0);
}

describe('trigger handler', () => {
  it('500, 500, 200 with retry 3: three attempts at the backoff times, delivered, nothing dead-lettered', async () => {
    const sub = await server([{ status: 500 }, { status: 500 }, { status: 200 }]);
    const dls = await server([{ status: 202 }]);
    await subscribe(runtime(sub.url, { retry: 3, backoffDelay: 'PT0.1S' }, dls.url));
    await backend.publish(BROKER, ev());

    await waitFor(() => outcomes.length === 1, { what: 'first attempt' });
    expect(outcomes[0]).toEqual({ kind: 'retry', delayMs: 200, attempt: 0 }); // 100 ms × 2^1
    clock.advance(199);
    expect(sub.received).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => outcomes.length === 2, { what: 'second attempt' });
    expect(outcomes[1]).toEqual({ kind: 'retry', delayMs: 400, attempt: 1 }); // 100 ms × 2^2
    clock.advance(400);
    await waitFor(() => outcomes.length === 3, { what: 'third attempt' });
    expect(outcomes[2]).toEqual({ kind: 'done', attempt: 2 });

    expect(sub.received).toHaveLength(3);
    expect(sub.received.every((r) => r.event.id === 'e-1' && r.headers.prefer === 'reply')).toBe(true);
    expect(dls.received).toHaveLength(0);
    expect(await count('wisp_trigger_events_delivered_total')).toBe(1);
    expect(await count('wisp_trigger_events_retried_total')).toBe(2);
    expect(await count('wisp_trigger_events_dead_lettered_total')).toBe(0);
  });

  it('always 500 with retry 2: exactly three attempts, then one event at the dead-letter sink', async () => {
    const sub = await server([{ status: 500, body: 'database is down' }]);
    const dls = await server([{ status: 202 }]);
    await subscribe(runtime(sub.url, { retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT0.1S' }, dls.url));
    await backend.publish(BROKER, ev('e-dead'));

    await drive(() => dls.received.length === 1, 'dead letter');
    await waitFor(() => outcomes.length === 3);
    expect(outcomes.map((o) => o.kind)).toEqual(['retry', 'retry', 'done']);
    expect(outcomes.slice(0, 2).map((o) => (o.kind === 'retry' ? o.delayMs : -1))).toEqual([100, 200]); // linear: 100 × k
    expect(sub.received).toHaveLength(3);
    const dead = dls.received[0]?.event;
    expect(dead?.id).toBe('e-dead');
    expect(dead?.type).toBe('dev.wisp.order');
    expect(dead?.data).toEqual({ n: 1 });
    expect(dead?.knativeerrorcode).toBe('500');
    expect(dead?.knativeerrordest).toBe(sub.url);
    expect(Buffer.from(String(dead?.knativeerrordata), 'base64').toString()).toBe('database is down');
    expect(dls.received[0]?.headers.prefer).toBeUndefined();
    expect(await count('wisp_trigger_events_dead_lettered_total')).toBe(1);
    expect(await count('wisp_trigger_events_retried_total')).toBe(2);
    expect(logs.some((l) => l.m.includes('dead-lettered event e-dead after 3 attempt(s): HTTP 500'))).toBe(true);
  });

  it('400 is not retried: dead-lettered after one attempt; knativeerrordata holds at most 1024 bytes', async () => {
    const sub = await server([{ status: 400, body: 'y'.repeat(5000) }]);
    const dls = await server([{ status: 200 }]);
    await subscribe(runtime(sub.url, { retry: 5 }, dls.url));
    await backend.publish(BROKER, ev('e-bad'));
    await waitFor(() => dls.received.length === 1, { what: 'dead letter' });
    expect(sub.received).toHaveLength(1);
    const dead = dls.received[0]?.event;
    expect(dead?.knativeerrorcode).toBe('400');
    expect(Buffer.from(String(dead?.knativeerrordata), 'base64').toString()).toBe('y'.repeat(1024));
    expect(await count('wisp_trigger_events_retried_total')).toBe(0);
  });

  it('an event HTTP cannot carry (a NUL in datacontenttype) is not retried: one try, then dead letter or drop, logged', async () => {
    const sub = await server([{ status: 200 }]);
    const dls = await server([{ status: 200 }]);
    await subscribe(runtime(sub.url, { retry: 10 }, dls.url));
    await backend.publish(BROKER, ev('e-nul', { datacontenttype: 'text/plain\u0000x', data: 'hi' }));
    await waitFor(() => outcomes.length === 1, { what: 'outcome' });
    expect(outcomes[0]).toEqual({ kind: 'done', attempt: 0 });
    expect(sub.received).toHaveLength(0);
    // The dead letter carries the same header, so it cannot be sent either: dropped and counted, never stuck in retries.
    await waitFor(async () => (await count('wisp_trigger_events_dropped_total')) === 1, { what: 'dropped count' });
    expect(await count('wisp_trigger_events_retried_total')).toBe(0);
    expect(logs.some((l) => l.m.includes('e-nul') && l.m.includes('cannot be written as an HTTP request'))).toBe(true);
  });

  it('publishes a binary-mode reply into the same broker', async () => {
    const sub = await server([
      { status: 200, headers: { 'ce-id': 'r-1', 'ce-source': '/fn', 'ce-type': 'dev.wisp.reply', 'ce-specversion': '1.0', 'content-type': 'application/json' }, body: '{"ok":true}' },
    ]);
    await subscribe(runtime(sub.url, {}));
    await backend.publish(BROKER, ev());
    await waitFor(() => replies.length === 1, { what: 'reply' });
    expect(replies[0]?.broker).toEqual(BROKER);
    expect(replies[0]?.event.type).toBe('dev.wisp.reply');
    // The reply's data is kept byte for byte (an EventData), never parsed.
    expect(replies[0]?.event.data).toEqual(new EventData(Buffer.from('{"ok":true}'), 'json'));
    await waitFor(() => outcomes.length === 1);
    expect(await count('wisp_trigger_events_delivered_total')).toBe(1);
  });

  it('publishes a structured-mode reply', async () => {
    const reply = { specversion: '1.0', id: 'r-2', source: '/fn', type: 'dev.wisp.structured', data: { n: 2 } };
    const sub = await server([{ status: 200, headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(reply) }]);
    await subscribe(runtime(sub.url, {}));
    await backend.publish(BROKER, ev());
    await waitFor(() => replies.length === 1, { what: 'reply' });
    expect(replies[0]?.event.id).toBe('r-2');
    expect(replies[0]?.event.data).toEqual(new EventData(Buffer.from('{"n":2}'), 'json'));
  });

  it('a 2xx body that is not a CloudEvent is a failed delivery (not retried, dead-lettered)', async () => {
    const sub = await server([{ status: 200, headers: { 'content-type': 'text/plain' }, body: 'thanks!' }]);
    const dls = await server([{ status: 202 }]);
    await subscribe(runtime(sub.url, { retry: 3 }, dls.url));
    await backend.publish(BROKER, ev('e-text'));
    await waitFor(() => dls.received.length === 1, { what: 'dead letter' });
    expect(sub.received).toHaveLength(1);
    expect(dls.received[0]?.event.knativeerrorcode).toBe('200');
    expect(Buffer.from(String(dls.received[0]?.event.knativeerrordata), 'base64').toString()).toBe('thanks!');
    expect(replies).toHaveLength(0);
    expect(await count('wisp_trigger_events_delivered_total')).toBe(0);
  });

  it('an invalid CloudEvent reply (missing source) is a failed delivery', async () => {
    const sub = await server([{ status: 200, headers: { 'ce-id': 'x', 'ce-type': 't', 'ce-specversion': '1.0' }, body: '' }]);
    await subscribe(runtime(sub.url, { retry: 0 }));
    await backend.publish(BROKER, ev('e-invalid'));
    await waitFor(() => outcomes.length === 1);
    expect(replies).toHaveLength(0);
    expect(await count('wisp_trigger_events_dropped_total')).toBe(1);
    expect(logs.find((l) => l.level === 'warn')?.m).toMatch(/trigger default\/t1: dropped event e-invalid after 1 attempt\(s\): HTTP 200: reply is not a valid CloudEvent/);
  });

  it('202 and 204 with empty bodies are plain successes', async () => {
    const sub = await server([{ status: 202 }, { status: 204 }]);
    await subscribe(runtime(sub.url, {}));
    await backend.publish(BROKER, ev('a'));
    await backend.publish(BROKER, ev('b'));
    await waitFor(() => outcomes.length === 2);
    expect(outcomes.map((o) => o.kind)).toEqual(['done', 'done']);
    expect(await count('wisp_trigger_events_delivered_total')).toBe(2);
  });

  it('honours Retry-After: 1 on 429 over the shorter backoff, capped by retryAfterMax', async () => {
    const sub = await server([{ status: 429, headers: { 'retry-after': '1' } }, { status: 503, headers: { 'retry-after': '30' } }, { status: 202 }]);
    await subscribe(runtime(sub.url, { retry: 5, backoffDelay: 'PT0.1S', retryAfterMax: 'PT5S' }));
    await backend.publish(BROKER, ev());
    await waitFor(() => outcomes.length === 1);
    expect(outcomes[0]).toEqual({ kind: 'retry', delayMs: 1000, attempt: 0 });
    clock.advance(999);
    expect(sub.received).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => outcomes.length === 2);
    expect(outcomes[1]).toEqual({ kind: 'retry', delayMs: 5000, attempt: 1 }); // 30 s asked, capped at 5 s
    clock.advance(5000);
    await waitFor(() => outcomes.length === 3);
    expect(outcomes[2]?.kind).toBe('done');
    expect(sub.received).toHaveLength(3);
  });

  it('a filter that does not match sends nothing and counts the event as filtered', async () => {
    const sub = await server([{ status: 202 }]);
    let evaluated = 0;
    await subscribe(
      runtime(sub.url, {}, undefined, {
        filter: (e) => {
          evaluated++;
          return e.type === 'dev.wisp.wanted';
        },
      }),
    );
    await backend.publish(BROKER, ev('skip'));
    await backend.publish(BROKER, ev('take', { type: 'dev.wisp.wanted' }));
    await waitFor(() => outcomes.length === 2);
    expect(sub.received.map((r) => r.event.id)).toEqual(['take']);
    expect(evaluated).toBe(2);
    expect(await count('wisp_trigger_events_filtered_total')).toBe(1);
    expect(await count('wisp_trigger_events_delivered_total')).toBe(1);
  });

  it('a filter is evaluated once per event, not again on retries', async () => {
    const sub = await server([{ status: 503 }, { status: 202 }]);
    let evaluated = 0;
    await subscribe(runtime(sub.url, { retry: 1, backoffDelay: 'PT0.01S' }, undefined, { filter: () => ++evaluated > 0 }));
    await backend.publish(BROKER, ev());
    await drive(() => outcomes.length === 2, 'retry');
    expect(sub.received).toHaveLength(2);
    expect(evaluated).toBe(1);
  });

  it('timeouts and refused connections are retried, then dead-lettered with code 500', async () => {
    const hang = await server([{ status: 0, hang: true }]);
    const dls = await server([{ status: 202 }]);
    await subscribe(runtime(hang.url, { retry: 1, backoffDelay: 'PT0.01S', timeout: 'PT0.1S' }, dls.url));
    await backend.publish(BROKER, ev('e-slow'));
    await drive(() => dls.received.length === 1, 'dead letter after timeouts');
    expect(hang.received).toHaveLength(2);
    const dead = dls.received[0]?.event;
    expect(dead?.knativeerrorcode).toBe('500');
    expect(Buffer.from(String(dead?.knativeerrordata), 'base64').toString()).toBe('dispatch error: timeout: no complete response within 100 ms');

    const port = await freePort();
    outcomes.length = 0;
    const refused = runtime(`http://127.0.0.1:${port}/`, { retry: 0 }, undefined, { key: 'default/t2', name: 't2' });
    await subscribe(refused);
    await backend.publish(BROKER, ev('e-refused'));
    await waitFor(() => logs.some((l) => l.m.includes('dropped event e-refused')), { what: 'drop log' });
    expect(logs.find((l) => l.m.includes('e-refused'))?.m).toMatch(/trigger default\/t2: dropped event e-refused after 1 attempt\(s\): network error: .*\(no dead-letter sink\)/);
    expect(await count('wisp_trigger_events_dropped_total', 'default/t2')).toBe(1);
  });

  it('a failing dead-letter sink is tried a few times, then the event is dropped and logged', async () => {
    const sub = await server([{ status: 400 }]);
    const dls = await server([{ status: 500 }]);
    await subscribe(runtime(sub.url, { retry: 0, backoffDelay: 'PT0.01S' }, dls.url));
    await backend.publish(BROKER, ev('e-lost'));
    await drive(() => outcomes.length === 1, 'outcome');
    expect(outcomes[0]?.kind).toBe('done');
    expect(dls.received).toHaveLength(3);
    expect(await count('wisp_trigger_events_dropped_total')).toBe(1);
    expect(await count('wisp_trigger_events_dead_lettered_total')).toBe(0);
    expect(logs.find((l) => l.level === 'warn')?.m).toContain(`dropped event e-lost after 1 attempt(s): HTTP 400; dead-letter sink ${dls.url} failed too: HTTP 500`);
  });

  it('a reply the broker cannot store fails the delivery (dead-lettered)', async () => {
    const sub = await server([{ status: 200, headers: { 'ce-id': 'r', 'ce-source': '/fn', 'ce-type': 't', 'ce-specversion': '1.0' } }]);
    const dls = await server([{ status: 202 }]);
    await dispatcher.close();
    dispatcher = new Dispatcher({
      clock,
      registry: new Registry(),
      publishReply: async () => {
        throw new Error('backend full');
      },
      logger: { info: () => {}, warn: () => {} },
    });
    await subscribe(runtime(sub.url, { retry: 0, backoffDelay: 'PT0.01S' }, dls.url));
    await backend.publish(BROKER, ev('e-reply'));
    await drive(() => dls.received.length === 1, 'dead letter');
    expect(Buffer.from(String(dls.received[0]?.event.knativeerrordata), 'base64').toString()).toMatch(/reply event r could not be stored in broker default\/default: backend full/);
  });

  it('reaches a *.localhost subscriber on loopback with its Host header', async () => {
    const sub = await server([{ status: 202 }]);
    await subscribe(runtime(`http://hello.default.localhost:${sub.port}/`, {}));
    await backend.publish(BROKER, ev());
    await waitFor(() => sub.received.length === 1);
    expect(sub.received[0]?.headers.host).toBe(`hello.default.localhost:${sub.port}`);
  });
});
