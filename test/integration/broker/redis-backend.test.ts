/**
 * RedisBackend against the real Redis on 127.0.0.1:6379 (WISP_REDIS_URL overrides): the shared EventBackend
 * contract (durable cases included) plus Redis-specific behaviour. Every test uses its own key prefix and
 * deletes every key under it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { RedisBackend, backendForClass, type RedisBackendOptions } from '../../../broker/backends/index.js';
import { BackendUnavailableError, BrokerNotFoundError } from '../../../broker/errors.js';
import type { BrokerRef, Consumer, HandleOutcome, StoredEvent } from '../../../broker/types.js';
import { systemClock } from '../../../src/clock.js';
import { describeEventBackendContract } from '../../contract/event-backend.js';
import { ManualClock } from '../../support/clock.js';
import { freePort, waitFor } from '../../support/wait.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import { REDIS_URL, deleteKeys, scanKeys } from '../../support/redis.js';

const DONE: HandleOutcome = { kind: 'done' };

function event(data: unknown = { n: 1 }): CloudEvent {
  return new CloudEvent<unknown>({ id: randomUUID(), type: 'dev.wisp.redis', source: '/redis-test', data }) as unknown as CloudEvent;
}

function brokerRef(): BrokerRef {
  return { namespace: `ns-${randomUUID().slice(0, 8)}`, name: 'default' };
}

describeEventBackendContract(
  'RedisBackend',
  async () => {
    const prefix = `wisp-test-${randomUUID()}`;
    const opened: RedisBackend[] = [];
    const open = (): RedisBackend => {
      const b = new RedisBackend({ url: REDIS_URL, prefix, clock: systemClock, closeTimeoutMs: 5_000 });
      opened.push(b);
      return b;
    };
    const backend = open();
    return {
      backend,
      reopen: async () => open(),
      cleanup: async () => {
        await Promise.all(opened.map((b) => b.close()));
        await deleteKeys(prefix);
      },
    };
  },
  { durable: true, backlogCap: true },
);

describe('RedisBackend', () => {
  const prefixes: string[] = [];
  const backends: RedisBackend[] = [];
  const consumers: Consumer[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
    await Promise.all(backends.splice(0).map((b) => b.close()));
    for (const c of cleanups.splice(0).reverse()) await c();
    await Promise.all(prefixes.splice(0).map((p) => deleteKeys(p)));
  });

  function newBackend(opts: Partial<RedisBackendOptions> = {}): RedisBackend {
    const prefix = opts.prefix ?? `wisp-test-${randomUUID()}`;
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
    const b = new RedisBackend({ url: REDIS_URL, clock: systemClock, closeTimeoutMs: 5_000, ...opts, prefix });
    backends.push(b);
    return b;
  }

  it('serves the Redis broker class and rejects publishing to a broker that was never ensured', async () => {
    const backend = newBackend();
    expect(backendForClass([backend], 'Redis')).toBe(backend);
    expect(backendForClass([backend], 'Memory')).toBeUndefined();
    const err = await backend.publish(brokerRef(), event()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerNotFoundError);
    // Healthy once its connections are ready (a fresh client may still be in its handshake here).
    await waitFor(() => backend.health().ok, { what: 'the backend connected' });
    expect(backend.health()).toEqual({ ok: true });
  });

  it('stores nothing for a broker without triggers, and keeps its keys under the prefix', async () => {
    const backend = newBackend();
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    for (let i = 0; i < 5; i++) await backend.publish(broker, event());
    const keys = await scanKeys(backend.keys.prefix);
    expect(keys.sort()).toEqual([backend.keys.brokers]);
  });

  it('keeps the number of keys bounded: 200 delivered events leave no keys behind', async () => {
    const backend = newBackend();
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    let handled = 0;
    const sub = { broker, trigger: `${broker.namespace}/bounded`, maxInFlight: 10 };
    consumers.push(await backend.subscribe(sub, async () => (handled++, DONE)));
    await backend.publish(broker, event());
    await waitFor(() => handled === 1, { what: 'warm-up event' });
    const queue = await backend.queueFor(sub);
    const idle = async (): Promise<boolean> => {
      const c = await queue?.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed');
      return c !== undefined && Object.values(c).every((n) => n === 0);
    };
    await waitFor(idle, { what: 'warm-up job removed' });
    const before = (await scanKeys(backend.keys.prefix)).sort();
    await Promise.all(Array.from({ length: 200 }, (_, i) => backend.publish(broker, event({ i }))));
    await waitFor(() => handled === 201, { what: '200 events handled' });
    await waitFor(idle, { what: 'every job removed' });
    const after = (await scanKeys(backend.keys.prefix)).sort();
    expect(after).toEqual(before);
    expect(after.some((k) => /:\d+$/.test(k))).toBe(false); // no job hash left
  });

  it('a retry becomes a delayed job (slot free meanwhile) and the next attempt carries attempt + 1', async () => {
    const backend = newBackend();
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    const seen: StoredEvent[] = [];
    const sub = { broker, trigger: `${broker.namespace}/retry`, maxInFlight: 5 };
    consumers.push(
      await backend.subscribe(sub, async (s) => {
        seen.push(s);
        return s.attempt < 2 ? { kind: 'retry', delayMs: 600 } : DONE;
      }),
    );
    const queue = await backend.queueFor(sub);
    const e = event();
    await backend.publish(broker, e);
    await waitFor(() => seen.length === 1, { what: 'first attempt' });
    await waitFor(async () => (await queue?.getDelayedCount()) === 1, { what: 'job delayed during the back-off' });
    expect(await queue?.getActiveCount()).toBe(0);
    await waitFor(() => seen.length === 3, { what: 'three attempts' });
    expect(seen.map((s) => [s.event.id, s.attempt])).toEqual([
      [e.id, 0],
      [e.id, 1],
      [e.id, 2],
    ]);
  });

  it('with maxInFlight 1 a retry waits in place on the injected clock, holding the job (order kept)', async () => {
    const clock = new ManualClock(Date.now());
    const backend = newBackend({ clock });
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    const order: string[] = [];
    const sub = { broker, trigger: `${broker.namespace}/ordered`, maxInFlight: 1 };
    const [a, b] = [event({ a: 1 }), event({ b: 1 })];
    consumers.push(
      await backend.subscribe(sub, async (s) => {
        order.push(`${s.event.id}@${s.attempt}`);
        return s.event.id === a.id && s.attempt === 0 ? { kind: 'retry', delayMs: 60_000 } : DONE;
      }),
    );
    const queue = await backend.queueFor(sub);
    await backend.publish(broker, a);
    await backend.publish(broker, b);
    await waitFor(() => order.length === 1, { what: 'first attempt of a' });
    // Backing off on the manual clock: still active, nothing delayed, b not overtaking.
    await waitFor(async () => (await queue?.getWaitingCount()) === 1 && (await queue?.getActiveCount()) === 1, { what: 'a active, b waiting' });
    expect(await queue?.getDelayedCount()).toBe(0);
    expect(order).toEqual([`${a.id}@0`]);
    clock.advance(60_000);
    await waitFor(() => order.length === 3, { what: 'a retried, then b' });
    expect(order).toEqual([`${a.id}@0`, `${a.id}@1`, `${b.id}@0`]);
  });

  it('an event whose handler is still backing off when the consumer closes goes, attempt kept, to the next consumer first', async () => {
    const clock = new ManualClock(Date.now());
    const backend = newBackend({ clock });
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    const sub = { broker, trigger: `${broker.namespace}/handover`, maxInFlight: 1 };
    const first: StoredEvent[] = [];
    const c1 = await backend.subscribe(sub, async (s) => (first.push(s), { kind: 'retry', delayMs: 60_000 }));
    const [a, b] = [event(), event()];
    await backend.publish(broker, a);
    await backend.publish(broker, b);
    await waitFor(() => first.length === 1, { what: 'a in its back-off' });
    await c1.close();
    const second: StoredEvent[] = [];
    consumers.push(await backend.subscribe(sub, async (s) => (second.push(s), DONE)));
    await waitFor(() => second.length === 2, { what: 'both events on the next consumer' });
    expect(second.map((s) => [s.event.id, s.attempt])).toEqual([
      [a.id, 1],
      [b.id, 0],
    ]);
  });

  it('a consumer that dies mid-event leaves the job active; the stalled check hands it to another process', async () => {
    const prefix = `wisp-test-${randomUUID()}`;
    const tuning = { lockDurationMs: 1_000, stalledIntervalMs: 300 };
    // closeTimeoutMs 0: close() does not wait for the handler, it drops the worker like a crash would.
    const dying = newBackend({ prefix, ...tuning, closeTimeoutMs: 0 });
    const survivor = newBackend({ prefix, ...tuning });
    const broker = brokerRef();
    await dying.ensureBroker(broker);
    const sub = { broker, trigger: `${broker.namespace}/crash`, maxInFlight: 5 };
    let hung: (() => void) | undefined;
    const started: string[] = [];
    const c1 = await dying.subscribe(sub, async (s) => {
      started.push(s.event.id);
      await new Promise<void>((r) => (hung = r));
      return DONE;
    });
    cleanups.push(() => hung?.());
    const e = event();
    await dying.publish(broker, e);
    await waitFor(() => started.length === 1, { what: 'event in flight on the dying consumer' });
    await c1.close();
    const queue = await survivor.queueFor(sub);
    expect(await queue?.getActiveCount()).toBe(1);
    const redelivered: StoredEvent[] = [];
    consumers.push(await survivor.subscribe(sub, async (s) => (redelivered.push(s), DONE)));
    await waitFor(() => redelivered.length === 1, { what: 'stalled job redelivered', timeoutMs: 15_000 });
    expect(redelivered[0]?.event.id).toBe(e.id);
  });

  it('maxInFlight bounds each process: two backends sharing the prefix run up to 2 × maxInFlight, each event once', async () => {
    const prefix = `wisp-test-${randomUUID()}`;
    const one = newBackend({ prefix });
    const two = newBackend({ prefix });
    const broker = brokerRef();
    await one.ensureBroker(broker);
    const sub = { broker, trigger: `${broker.namespace}/shared`, maxInFlight: 2 };
    const running = new Map<RedisBackend, number>([
      [one, 0],
      [two, 0],
    ]);
    let maxTotal = 0;
    const handled: string[] = [];
    const pending: Array<() => void> = [];
    const handlerFor = (b: RedisBackend) => async (s: StoredEvent) => {
      running.set(b, (running.get(b) ?? 0) + 1);
      maxTotal = Math.max(maxTotal, (running.get(one) ?? 0) + (running.get(two) ?? 0));
      expect(running.get(b)).toBeLessThanOrEqual(2);
      await new Promise<void>((r) => pending.push(r));
      running.set(b, (running.get(b) ?? 0) - 1);
      handled.push(s.event.id);
      return DONE;
    };
    consumers.push(await one.subscribe(sub, handlerFor(one)), await two.subscribe(sub, handlerFor(two)));
    const events = Array.from({ length: 12 }, (_, i) => event({ i }));
    for (const e of events) await one.publish(broker, e);
    await waitFor(() => pending.length === 4, { what: 'both processes at their bound' });
    expect(running.get(one)).toBe(2);
    expect(running.get(two)).toBe(2);
    while (handled.length < events.length) {
      for (const release of pending.splice(0)) release();
      await waitFor(() => pending.length > 0 || handled.length === events.length, { what: `more events (handled ${handled.length})`, intervalMs: 5 });
    }
    expect(maxTotal).toBe(4);
    expect([...handled].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('concurrent single publishes of one turn are stored as one batch; each is delivered once', async () => {
    const backend = newBackend();
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    const handled: string[] = [];
    consumers.push(await backend.subscribe({ broker, trigger: `${broker.namespace}/batched`, maxInFlight: 50 }, async (s) => (handled.push(s.event.id), DONE)));
    const before = backend.publishStats();
    const events = Array.from({ length: 40 }, (_, i) => event({ i }));
    await Promise.all(events.map((e) => backend.publish(broker, e)));
    const stats = backend.publishStats();
    expect(stats.items - before.items).toBe(40);
    expect(stats.batches - before.batches).toBe(1);
    await waitFor(() => handled.length === 40, { what: '40 deliveries' });
    expect([...handled].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('within one batch, events past the backlog limit get their own BackendFullError; the others are stored', async () => {
    const backend = newBackend();
    const broker = brokerRef();
    await backend.ensureBroker(broker, { maxBacklog: 5 });
    const sub = { broker, trigger: `${broker.namespace}/full`, maxInFlight: 1 };
    await (await backend.subscribe(sub, async () => DONE)).close(); // durable, nobody consuming
    const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => backend.publish(broker, event({ i }))));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(5);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'WISP_ERR_BACKEND_FULL', statusCode: 503 });
    expect(await (await backend.queueFor(sub))?.getWaitingCount()).toBe(5);
  });

  it('a batch Redis cannot store fails every request in it with a retriable 503 naming the batch', async () => {
    const proxy = await startTcpProxy(new URL(REDIS_URL));
    cleanups.push(() => proxy.stop());
    const backend = newBackend({ url: `redis://127.0.0.1:${proxy.port}` });
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    await (await backend.subscribe({ broker, trigger: `${broker.namespace}/lost`, maxInFlight: 1 }, async () => DONE)).close();
    await proxy.stop();
    await waitFor(() => !backend.health().ok, { what: 'outage noticed' });
    const settled = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => backend.publish(broker, event({ i }))));
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(BackendUnavailableError);
      expect((s as PromiseRejectedResult).reason).toMatchObject({ statusCode: 503, retriable: true });
    }
  });

  it('close() stores the publishes already accepted in the open batch before it lets go of Redis', async () => {
    const backend = newBackend();
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    const sub = { broker, trigger: `${broker.namespace}/closing`, maxInFlight: 1 };
    await (await backend.subscribe(sub, async () => DONE)).close();
    const pending = Array.from({ length: 3 }, (_, i) => backend.publish(broker, event({ i })));
    const closing = backend.close();
    await Promise.all(pending);
    await closing;
    const reader = newBackend({ prefix: backend.keys.prefix });
    expect(await (await reader.queueFor(sub))?.getWaitingCount()).toBe(3);
  });

  it('Redis unreachable: ensureBroker and publish reject fast with a retriable BackendUnavailableError; health says why', async () => {
    const port = await freePort();
    const backend = newBackend({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 10_000 });
    const broker = brokerRef();
    const started = Date.now();
    const err = await backend.ensureBroker(broker).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err).toMatchObject({ code: 'WISP_ERR_BACKEND_UNAVAILABLE', retriable: true, statusCode: 503 });
    expect((err as Error).message).toContain(`redis://127.0.0.1:${port}`);
    const err2 = await backend.publish(broker, event()).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(BackendUnavailableError);
    // Well under the 10 s connect timeout: a refused connection is reported, not waited out.
    expect(Date.now() - started).toBeLessThan(5_000);
    const health = backend.health();
    expect(health.ok).toBe(false);
    expect(health.reason).toMatch(/ECONNREFUSED/);
  });

  it('Redis going away and coming back: publish fails fast meanwhile, workers reconnect and lose nothing', async () => {
    const proxy = await startTcpProxy(new URL(REDIS_URL));
    cleanups.push(() => proxy.stop());
    const backend = newBackend({ url: `redis://127.0.0.1:${proxy.port}` });
    const broker = brokerRef();
    await backend.ensureBroker(broker);
    const seen: string[] = [];
    consumers.push(await backend.subscribe({ broker, trigger: `${broker.namespace}/survivor`, maxInFlight: 1 }, async (s) => (seen.push(s.event.id), DONE)));
    const before = event();
    await backend.publish(broker, before);
    await waitFor(() => seen.length === 1, { what: 'delivery before the outage' });

    await proxy.stop();
    await waitFor(() => !backend.health().ok, { what: 'outage noticed' });
    const err = await backend.publish(broker, event()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);

    await proxy.start();
    await waitFor(() => backend.health().ok, { what: 'reconnected', timeoutMs: 15_000 });
    const after = event();
    await waitFor(() => backend.publish(broker, after).then(() => true), { what: 'publish accepted again', timeoutMs: 15_000 });
    await waitFor(() => seen.includes(after.id), { what: 'delivery after the outage', timeoutMs: 15_000 });
    expect(seen[0]).toBe(before.id);
  });

  it('measures publish→handle throughput with 1 and 10 triggers (reported, not asserted)', async () => {
    const backend = newBackend();
    for (const triggers of [1, 10]) {
      const broker = brokerRef();
      await backend.ensureBroker(broker);
      const total = triggers === 1 ? 2_000 : 500;
      let handled = 0;
      for (let t = 0; t < triggers; t++) {
        consumers.push(await backend.subscribe({ broker, trigger: `${broker.namespace}/t${t}`, maxInFlight: 100 }, async () => (handled++, DONE)));
      }
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next++ < total) await backend.publish(broker, event({ next }));
        }),
      );
      const published = performance.now();
      await waitFor(() => handled === total * triggers, { what: `${total * triggers} deliveries`, timeoutMs: 60_000, intervalMs: 5 });
      const done = performance.now();
      const line =
        `RedisBackend ${triggers} trigger(s): ${total} events published in ${(published - started).toFixed(0)} ms ` +
        `(${((total * 1000) / (published - started)).toFixed(0)} publish/s, 16 concurrent publishers); ` +
        `${total * triggers} handler calls done after ${(done - started).toFixed(0)} ms ` +
        `(${((total * 1000) / (done - started)).toFixed(0)} events/s publish→handle, ${((total * triggers * 1000) / (done - started)).toFixed(0)} deliveries/s)`;
      process.stdout.write(`${line}\n`);
      expect(handled).toBe(total * triggers);
    }
  }, 120_000);
});
