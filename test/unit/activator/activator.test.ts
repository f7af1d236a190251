import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Activator } from '../../../activator/index.js';
import type { RevisionState, RouteEntry } from '../../../activator/types.js';
import { systemClock, type Clock } from '../../../src/clock.js';
import { ManualClock } from '../../support/clock.js';
import { freePort, waitFor } from '../../support/wait.js';

interface Replica {
  server: Server;
  port: number;
  active: number;
  maxActive: number;
  hits: number;
  lastHeaders?: IncomingHttpHeaders;
}

const servers: Server[] = [];
const activators: Activator[] = [];

afterEach(async () => {
  await Promise.all(activators.splice(0).map((a) => a.close()));
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

async function replica(name: string, opts: { delayMs?: number; hang?: boolean } = {}): Promise<Replica> {
  const r: Replica = { server: undefined as unknown as Server, port: 0, active: 0, maxActive: 0, hits: 0 };
  r.server = createServer((req, res) => {
    r.hits++;
    r.active++;
    r.maxActive = Math.max(r.maxActive, r.active);
    r.lastHeaders = req.headers;
    if (opts.hang) return;
    const body: Buffer[] = [];
    req.on('data', (d: Buffer) => body.push(d));
    req.on('end', () =>
      setTimeout(() => {
        r.active--;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${name} ${req.method} ${req.url} ${Buffer.concat(body).toString()}`);
      }, opts.delayMs ?? 0),
    );
  });
  servers.push(r.server);
  await new Promise<void>((res) => r.server.listen(0, '127.0.0.1', res));
  const addr = r.server.address();
  r.port = typeof addr === 'object' && addr ? addr.port : 0;
  return r;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(port: number, host: string, opts: { path?: string; method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: { host, ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const route = (service: string, targets: [string, number][]): RouteEntry => ({
  namespace: 'default',
  service,
  targets: targets.map(([revision, percent]) => ({ revision, percent })),
});

const rev = (key: string, endpoints: Replica[], over: Partial<RevisionState> = {}): RevisionState => ({
  key,
  namespace: 'default',
  service: 'hello',
  revision: key.split('/')[1]!,
  containerConcurrency: 0,
  timeoutSeconds: 300,
  endpoints: endpoints.map((r, i) => ({ id: `${key}-${i}`, host: '127.0.0.1', port: r.port })),
  ...over,
});

class RecordingReporter {
  reports: { key: string; concurrency: number; now: number }[] = [];
  pokes: string[] = [];
  report(key: string, concurrency: number, now: number): void {
    this.reports.push({ key, concurrency, now });
  }
  poke(key: string): void {
    this.pokes.push(key);
  }
}

async function activator(opts: { clock?: Clock; queueDepth?: number; random?: () => number } = {}) {
  const reporter = new RecordingReporter();
  const registry = new Registry();
  const a = new Activator({ clock: opts.clock ?? systemClock, reporter, registry, queueDepth: opts.queueDepth, random: opts.random });
  activators.push(a);
  const { port } = await a.listen({ port: 0 });
  a.setRouting({
    hosts: new Map([
      ['hello.default.localhost', route('hello', [['default/hello-00001', 100]])],
      ['hello.default', route('hello', [['default/hello-00001', 100]])],
      ['canary-hello.default.localhost', route('hello', [['default/hello-00002', 100]])],
    ]),
  });
  return { a, port, reporter, registry };
}

describe('Activator over HTTP', () => {
  it('routes by Host (port and case ignored), tag hosts, and forwards headers', async () => {
    const r1 = await replica('one');
    const r2 = await replica('two');
    const { a, port } = await activator();
    a.upsertRevision(rev('default/hello-00001', [r1]));
    a.upsertRevision(rev('default/hello-00002', [r2]));
    const res = await send(port, 'Hello.Default.Localhost:8080', { path: '/p?q=1', method: 'POST', body: 'hi', headers: { connection: 'keep-alive, x-secret', 'x-secret': 'drop', 'x-keep': 'yes' } });
    expect(res).toMatchObject({ status: 200, body: 'one POST /p?q=1 hi' });
    expect(res.headers['x-wisp-cold-start']).toBeUndefined();
    expect(r1.lastHeaders).toMatchObject({ host: 'Hello.Default.Localhost:8080', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-keep': 'yes' });
    expect(r1.lastHeaders?.['x-secret']).toBeUndefined();
    expect(r1.lastHeaders?.forwarded).toContain('for=127.0.0.1');
    expect((await send(port, 'hello.default')).body).toBe('one GET / ');
    expect((await send(port, 'canary-hello.default.localhost')).body).toBe('two GET / ');
  });

  it('answers 404 naming an unknown host', async () => {
    const { port } = await activator();
    const res = await send(port, 'nope.default.localhost');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('no Service found for host "nope.default.localhost"');
    expect(res.body).toContain('<service>.<namespace>.localhost');
  });

  it('splits traffic between two revisions by percent (seeded random)', async () => {
    const r1 = await replica('one');
    const r2 = await replica('two');
    let s = 1;
    const random = () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
    const { a, port } = await activator({ random });
    a.setRouting({ hosts: new Map([['hello.default.localhost', route('hello', [['default/hello-00001', 75], ['default/hello-00002', 25]])]]) });
    a.upsertRevision(rev('default/hello-00001', [r1]));
    a.upsertRevision(rev('default/hello-00002', [r2]));
    for (let i = 0; i < 200; i++) await send(port, 'hello.default.localhost');
    expect(r1.hits + r2.hits).toBe(200);
    expect(r1.hits).toBeGreaterThan(130);
    expect(r1.hits).toBeLessThan(170);
  });

  it('buffers requests for a revision at zero, pokes once, and dispatches them when a replica appears', async () => {
    const r1 = await replica('one');
    const { a, port, reporter } = await activator();
    const pending = [send(port, 'hello.default.localhost'), send(port, 'hello.default.localhost')];
    await waitFor(() => a.inFlight('default/hello-00001') === 2);
    expect(reporter.pokes).toEqual(['default/hello-00001']);
    a.upsertRevision(rev('default/hello-00001', [r1]));
    for (const res of await Promise.all(pending)) {
      expect(res.status).toBe(200);
      expect(res.headers['x-wisp-cold-start']).toMatch(/^\d+$/);
    }
    expect((await send(port, 'hello.default.localhost')).headers['x-wisp-cold-start']).toBeUndefined();
    expect(reporter.pokes).toEqual(['default/hello-00001']);
  });

  it('rejects overflow with 503 and Retry-After', async () => {
    const { a, port } = await activator({ queueDepth: 1 });
    const first = send(port, 'hello.default.localhost');
    await waitFor(() => a.inFlight('default/hello-00001') === 1);
    const res = await send(port, 'hello.default.localhost');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toContain('queue is full');
    a.removeRevision('default/hello-00001');
    expect((await first).status).toBe(503);
  });

  it('never sends more than containerConcurrency=1 requests at once to a replica', async () => {
    const r1 = await replica('one', { delayMs: 20 });
    const r2 = await replica('two', { delayMs: 20 });
    const { a, port } = await activator();
    a.upsertRevision(rev('default/hello-00001', [r1, r2], { containerConcurrency: 1 }));
    const all = await Promise.all(Array.from({ length: 12 }, () => send(port, 'hello.default.localhost')));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(r1.maxActive).toBe(1);
    expect(r2.maxActive).toBe(1);
    expect(r1.hits + r2.hits).toBe(12);
  });

  it('fails waiting requests fast with the reason when the revision cannot start', async () => {
    const { a, port } = await activator();
    const waiting = send(port, 'hello.default.localhost');
    await waitFor(() => a.inFlight('default/hello-00001') === 1);
    a.upsertRevision(rev('default/hello-00001', [], { failure: { reason: 'ExitCode1', message: 'Error: Cannot find module /app/server.js' } }));
    const res = await waiting;
    expect(res.status).toBe(503);
    expect(res.body).toContain('revision default/hello-00001 cannot start: ExitCode1: Error: Cannot find module /app/server.js');
    expect((await send(port, 'hello.default.localhost')).status).toBe(503);
  });

  it('answers 503 when a request stays queued for timeoutSeconds (ManualClock)', async () => {
    const clock = new ManualClock();
    const { a, port } = await activator({ clock });
    a.upsertRevision(rev('default/hello-00001', [], { timeoutSeconds: 1 }));
    const waiting = send(port, 'hello.default.localhost');
    await waitFor(() => a.inFlight('default/hello-00001') === 1);
    clock.advance(1000);
    const res = await waiting;
    expect(res.status).toBe(503);
    expect(res.body).toContain('no replica became available within 1000 ms');
  });

  it('answers 504 when the replica sends no response within timeoutSeconds', async () => {
    const r1 = await replica('slow', { hang: true });
    const { a, port } = await activator();
    a.upsertRevision(rev('default/hello-00001', [r1], { timeoutSeconds: 0.3 }));
    const res = await send(port, 'hello.default.localhost');
    expect(res.status).toBe(504);
    expect(res.body).toContain('sent no response within 300 ms');
  });

  it('answers 502 when the replica refuses the connection', async () => {
    const { a, port } = await activator();
    const dead = await freePort();
    a.upsertRevision({ ...rev('default/hello-00001', []), endpoints: [{ id: 'x', host: '127.0.0.1', port: dead }] });
    const res = await send(port, 'hello.default.localhost');
    expect(res.status).toBe(502);
    expect(res.body).toContain('replica x failed');
  });

  it('reports time-weighted concurrency every second on the clock, then a final 0', async () => {
    const clock = new ManualClock();
    const r1 = await replica('one', { hang: true });
    const { a, port, reporter } = await activator({ clock });
    a.upsertRevision(rev('default/hello-00001', [r1]));
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: 'hello.default.localhost' } });
    req.on('error', () => {});
    req.end();
    await waitFor(() => r1.hits === 1);
    clock.advance(1000);
    expect(reporter.reports.at(-1)).toMatchObject({ key: 'default/hello-00001', concurrency: 1 });
    req.destroy();
    await waitFor(() => a.inFlight('default/hello-00001') === 0);
    clock.advance(1000);
    clock.advance(1000);
    expect(reporter.reports.at(-1)).toMatchObject({ key: 'default/hello-00001', concurrency: 0 });
    const n = reporter.reports.length;
    clock.advance(1000);
    expect(reporter.reports.length).toBe(n);
  });

  it('exposes request, latency, cold-start, queue, in-flight and replica metrics on the injected registry', async () => {
    const r1 = await replica('one');
    const { a, port, registry } = await activator();
    const cold = send(port, 'hello.default.localhost');
    await waitFor(() => a.inFlight('default/hello-00001') === 1);
    a.upsertRevision(rev('default/hello-00001', [r1]));
    await cold;
    await send(port, 'nope.default.localhost');
    const text = await registry.metrics();
    expect(text).toContain('wisp_activator_requests_total{revision="default/hello-00001",code="200"} 1');
    expect(text).toContain('wisp_activator_requests_total{revision="",code="404"} 1');
    expect(text).toContain('wisp_activator_request_duration_seconds_count{revision="default/hello-00001"} 1');
    expect(text).toContain('wisp_activator_cold_start_wait_seconds_count{revision="default/hello-00001"} 1');
    expect(text).toContain('wisp_activator_queue_depth{revision="default/hello-00001"} 0');
    expect(text).toContain('wisp_activator_in_flight{revision="default/hello-00001"} 0');
    expect(text).toContain('wisp_activator_ready_replicas{revision="default/hello-00001"} 1');
  });

  it('survives odd input: missing Host, bad request line, huge headers, aborted bodies', async () => {
    const r1 = await replica('one');
    const { a, port } = await activator();
    a.upsertRevision(rev('default/hello-00001', [r1]));
    const { connect } = await import('node:net');
    const raw = (payload: string) =>
      new Promise<string>((resolve) => {
        const s = connect(port, '127.0.0.1');
        let out = '';
        s.on('data', (d) => (out += d.toString()));
        s.on('close', () => resolve(out));
        s.on('error', () => resolve(out));
        s.end(payload);
      });
    expect(await raw('GET / HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 404/);
    expect(await raw('NOT A REQUEST\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET / HTTP/1.1\r\nHost: hello.default.localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    await raw('POST / HTTP/1.1\r\nHost: hello.default.localhost\r\nContent-Length: 100\r\n\r\npartial');
    expect((await send(port, 'hello.default.localhost')).status).toBe(200);
    await waitFor(() => a.inFlight('default/hello-00001') === 0);
  });

  it('close() lets an in-flight request finish and fails queued ones with 503', async () => {
    const r1 = await replica('one', { delayMs: 100 });
    const { a, port } = await activator();
    a.upsertRevision(rev('default/hello-00001', [r1]));
    const inflight = send(port, 'hello.default.localhost');
    const queued = send(port, 'canary-hello.default.localhost');
    await waitFor(() => r1.hits === 1 && a.inFlight('default/hello-00002') === 1);
    await a.close();
    expect((await inflight).status).toBe(200);
    const q = await queued;
    expect(q.status).toBe(503);
    expect(q.body).toContain('shutting down');
  });
});
