/**
 * Batches under backpressure, end to end on real HTTP: producer → broker ingress → backend (Memory; Redis on the
 * real Redis) → dispatcher → a subscriber that does not keep up. A batch answered 503 must leave nothing behind, so
 * a producer that retries it as Retry-After asks gets every event delivered exactly once.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend, RedisBackend } from '../../../broker/backends/index.js';
import { resolveDelivery } from '../../../broker/delivery/index.js';
import { Dispatcher } from '../../../broker/dispatcher/index.js';
import { compileTriggerFilter } from '../../../broker/filters/index.js';
import { buildBrokerIngress } from '../../../broker/ingress/index.js';
import type { BrokerRef, EventBackend } from '../../../broker/types.js';
import { systemClock } from '../../../src/clock.js';
import { REDIS_URL, deleteKeys } from '../../support/redis.js';
import { waitFor } from '../../support/wait.js';

const LIMIT = 30;

/** A subscriber that holds every delivery until `open()`; records the ce-id of each delivery it answered. */
async function slowSubscriber(): Promise<{ url: string; delivered: string[]; open(): void; close(): Promise<void> }> {
  const delivered: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      void gate.then(() => {
        delivered.push(String(req.headers['ce-id']));
        res.writeHead(202, { 'content-length': '0' });
        res.end();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    delivered,
    open: release,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function batchBody(ids: string[]): string {
  return JSON.stringify(ids.map((id) => ({ specversion: '1.0', id, source: '/batch-backpressure', type: 'dev.wisp.batch', data: { id } })));
}

const classes: Array<{ name: string; make: () => { backend: EventBackend; cleanup: () => Promise<void> } }> = [
  {
    name: 'Memory',
    make: () => {
      const backend = new MemoryBackend({ clock: systemClock });
      return { backend, cleanup: () => backend.close() };
    },
  },
  {
    name: 'Redis',
    make: () => {
      const prefix = `wisp-test-${randomUUID()}`;
      const backend = new RedisBackend({ url: REDIS_URL, prefix, clock: systemClock, closeTimeoutMs: 1_000 });
      return { backend, cleanup: async () => (await backend.close(), await deleteKeys(prefix)) };
    },
  },
];

describe.each(classes)('broker ingress batches under backpressure: $name', ({ make }) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function pipeline() {
    const { backend, cleanup } = make();
    cleanups.push(cleanup);
    const broker: BrokerRef = { namespace: 'default', name: `bp-${randomUUID().slice(0, 8)}` };
    await backend.ensureBroker(broker, { maxBacklog: LIMIT });
    const registry = new Registry();
    const dispatcher = new Dispatcher({
      clock: systemClock,
      registry,
      publishReply: (b, e) => backend.publish(b, e),
      logger: { info: () => undefined, warn: () => undefined },
    });
    cleanups.push(() => dispatcher.close());
    const ingress = buildBrokerIngress({ lookup: (ns, n) => (ns === broker.namespace && n === broker.name ? { broker, backend } : undefined), clock: systemClock, registry });
    await ingress.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => ingress.close());
    const addr = ingress.server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/${broker.namespace}/${broker.name}`;
    const sub = await slowSubscriber();
    cleanups.push(() => sub.close());
    await dispatcher.upsertTrigger(
      {
        key: 'default/slow',
        namespace: 'default',
        name: 'slow',
        broker: broker.name,
        filter: compileTriggerFilter({}),
        subscriberUri: sub.url,
        delivery: resolveDelivery({ timeout: 'PT60S' }),
        maxInFlight: 1,
      },
      backend,
    );
    const post = async (ids: string[]): Promise<{ status: number; retryAfter: string | null }> => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: batchBody(ids) });
      await res.arrayBuffer();
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    };
    return { post, sub, registry };
  }

  const batches = (): string[][] => Array.from({ length: 20 }, () => Array.from({ length: 10 }, () => randomUUID()));

  it('no event of a batch answered 503 is ever delivered; every event of a batch answered 202 is', async () => {
    const { post, sub, registry } = await pipeline();
    const all = batches();
    const answers = await Promise.all(all.map((ids) => post(ids)));
    const accepted = all.filter((_, i) => answers[i]?.status === 202).flat();
    const refused = all.filter((_, i) => answers[i]?.status === 503).flat();
    expect(answers.every((a) => a.status === 202 || (a.status === 503 && a.retryAfter === '1')), JSON.stringify(answers)).toBe(true);
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    const rejected = await registry.getSingleMetric('wisp_broker_events_rejected_total')?.get();
    expect(rejected?.values.find((v) => v.labels['reason'] === 'backlog_full')?.value).toBe(refused.length / 10);
    sub.open();
    await waitFor(() => accepted.every((id) => sub.delivered.includes(id)), { what: `${accepted.length} accepted events delivered`, timeoutMs: 30_000 });
    const marker = randomUUID();
    expect((await post([marker])).status).toBe(202);
    await waitFor(() => sub.delivered.includes(marker), { what: 'marker delivered' });
    const refusedSet = new Set(refused);
    expect(sub.delivered.filter((id) => refusedSet.has(id))).toEqual([]);
    expect(sub.delivered.length).toBe(accepted.length + 1);
  });

  it('a producer that retries each 503 as Retry-After asks gets every event delivered exactly once', async () => {
    const { post, sub } = await pipeline();
    const all = batches();
    let retries = 0;
    const send = async (ids: string[]): Promise<void> => {
      for (;;) {
        const { status, retryAfter } = await post(ids);
        if (status === 202) return;
        expect(status).toBe(503);
        retries++;
        if (retries === 1) sub.open(); // the subscriber starts catching up once the producer hears 503
        await new Promise((r) => setTimeout(r, Number(retryAfter ?? '1') * 1000));
      }
    };
    await Promise.all(all.map((ids) => send(ids)));
    expect(retries).toBeGreaterThan(0);
    const want = all.flat();
    // One delivery at a time, in arrival order: once a marker sent last is delivered, every stored copy was.
    const marker = randomUUID();
    await send([marker]);
    await waitFor(() => sub.delivered.includes(marker), { what: 'marker delivered', timeoutMs: 30_000 });
    const got = sub.delivered.filter((id) => id !== marker);
    expect([...got].sort()).toEqual([...want].sort()); // each exactly once: no duplicate of a refused batch's part
  }, 60_000);
});
