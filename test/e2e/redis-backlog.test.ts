/**
 * Two `wisp up` processes sharing one Redis (one key prefix), one Redis-class Broker with `wisp.dev/max-backlog: "20"`
 * and a subscriber that does not answer yet: both ingresses answer 503 + Retry-After once the Trigger's queue holds
 * about 20 events (the count is in Redis), `wisp get brokers` says BacklogFull on both, the metrics show the backlog
 * and the rejections, and everything accepted is delivered once the subscriber answers.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { REDIS_URL, deleteKeys } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { yamlFile } from './helpers.js';

const LIMIT = 20;
const POSTERS = 4; // concurrent producers per process, one event per request

function manifest(subscriber: string): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: orders
  namespace: default
  annotations:
    eventing.knative.dev/broker.class: Redis
    wisp.dev/max-backlog: "${LIMIT}"
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders-all
  namespace: default
  annotations:
    wisp.dev/max-in-flight: "1"
spec:
  broker: orders
  subscriber:
    uri: ${subscriber}
  delivery:
    timeout: PT60S
`;
}

describe('Redis backlog cap across two wisp processes (e2e)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const prefix = `wisp-e2e-${randomUUID().slice(0, 8)}`;
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await deleteKeys(prefix);
  });

  it('refuses past the limit on both ingresses, reports BacklogFull, and delivers everything it accepted', async () => {
    // The subscriber holds every delivery until released.
    const delivered: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sub: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => void gate.then(() => (delivered.push(String(req.headers['ce-id'])), res.writeHead(202, { 'content-length': '0' }), res.end())));
    });
    await new Promise<void>((r) => sub.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (sub.closeAllConnections(), sub.close(() => r()))));
    const addr = sub.address();
    const subUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

    const env = { WISP_REDIS_URL: REDIS_URL, WISP_REDIS_PREFIX: prefix };
    const wisps = [await WispProcess.create(env), await WispProcess.create(env)];
    for (const w of wisps) {
      cleanups.push(() => w.cleanup());
      await w.start();
      const res = await w.cli(['apply', '-f', await yamlFile(manifest(subUrl))]);
      expect(res.code, res.stderr).toBe(0);
    }
    for (const w of wisps) {
      await waitFor(async () => (await w.cli(['get', 'triggers'])).stdout.includes('True'), { what: 'trigger Ready', timeoutMs: 30_000 });
    }

    const accepted: string[] = [];
    let refused = 0;
    const poster = async (w: WispProcess): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const id = randomUUID();
        const res = await httpRequest({
          port: w.ports.broker,
          path: '/default/orders',
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': 'dev.example.order', 'content-type': 'application/json' },
          body: '{"n":1}',
        });
        if (res.status === 202) {
          accepted.push(id);
          continue;
        }
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
        refused++;
        return;
      }
    };
    await Promise.all(wisps.flatMap((w) => Array.from({ length: POSTERS }, () => poster(w))));
    expect(refused).toBe(2 * POSTERS);

    // What Redis holds for the Trigger: waiting (capped) + being delivered (one per process, held by the subscriber).
    const redis = new Redis(REDIS_URL);
    cleanups.push(async () => void redis.disconnect());
    const queue = await redis.hget(`${prefix}:broker:default/orders:triggers`, 'default/orders-all');
    const key = (k: string): string => `${prefix}:bull:${queue}:${k}`;
    const waiting = (await redis.llen(key('wait'))) + (await redis.zcard(key('delayed'))) + (await redis.zcard(key('prioritized')));
    const active = await redis.llen(key('active'));
    expect(waiting + active).toBe(accepted.length); // nothing refused was stored
    expect(waiting).toBeLessThanOrEqual(LIMIT + POSTERS); // overshoot: at most the other process's requests in flight
    expect(waiting).toBeGreaterThanOrEqual(LIMIT - POSTERS);

    // Both processes report it (their reconcilers poll the count in Redis every 2 s).
    for (const w of wisps) {
      await waitFor(async () => (await w.cli(['get', 'brokers'])).stdout.includes('BacklogFull'), { what: 'wisp get brokers shows BacklogFull', timeoutMs: 15_000 });
      const described = await w.cli(['describe', 'broker', 'orders']);
      expect(described.stdout).toContain('BacklogWithinLimit');
      expect(described.stdout).toContain(`Trigger default/orders-all is at the backlog limit of ${LIMIT} events waiting`);
    }
    const metrics = await (await wisps[0]!.fetch('/metrics')).text();
    expect(metrics).toMatch(/wisp_broker_backlog_limit\{broker="default\/orders",trigger="default\/orders-all"\} 20/);
    expect(metrics).toMatch(/wisp_broker_backlog_events\{broker="default\/orders",trigger="default\/orders-all"\} \d+/);
    expect(metrics).toMatch(/wisp_broker_events_rejected_total\{broker="default\/orders",reason="backlog_full"\} [1-9]/);

    release();
    await waitFor(() => accepted.every((id) => delivered.includes(id)), { what: `${accepted.length} accepted events delivered`, timeoutMs: 30_000 });
    for (const w of wisps) {
      await waitFor(async () => !(await w.cli(['get', 'brokers'])).stdout.includes('BacklogFull'), { what: 'BacklogFull cleared', timeoutMs: 15_000 });
    }
    expect(new Set(delivered)).toEqual(new Set(accepted));
  }, 120_000);
});
