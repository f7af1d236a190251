import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Activator } from '../../../activator/index.js';
import { systemClock } from '../../../src/clock.js';
import { waitFor } from '../../support/wait.js';

/**
 * The proxy's byte path: streaming, large and empty bodies, request bodies, and the upstream keep-alive connections
 * (one undici Client per connection, reused from a stack, closed with their replica).
 */

const KEY = 'default/hello-00001';
const HOST = 'hello.default.localhost';
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

interface Upstream {
  port: number;
  /** Connections opened to the replica so far, and open now. */
  opened: number;
  open: number;
}

async function upstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const u: Upstream = { port: 0, opened: 0, open: 0 };
  const server = createServer(handler);
  server.on('connection', (s: Socket) => {
    u.opened++;
    u.open++;
    s.on('close', () => u.open--);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  u.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return u;
}

async function activatorFor(u: Upstream): Promise<{ a: Activator; port: number }> {
  const a = new Activator({ clock: systemClock, registry: new Registry(), reporter: { report() {}, poke() {} } });
  activators.push(a);
  const { port } = await a.listen({ port: 0 });
  a.setRouting({ hosts: new Map([[HOST, { namespace: 'default', service: 'hello', targets: [{ revision: KEY, percent: 100 }] }]]) });
  a.upsertRevision({
    key: KEY,
    namespace: 'default',
    service: 'hello',
    revision: 'hello-00001',
    containerConcurrency: 0,
    timeoutSeconds: 30,
    endpoints: [{ id: 'hello-00001-1', host: '127.0.0.1', port: u.port }],
  });
  return { a, port };
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function send(port: number, opts: { method?: string; body?: Buffer; onChunk?: (chunk: Buffer) => void } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: opts.method ?? 'GET', headers: { host: HOST } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        opts.onChunk?.(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('activator proxy byte path', () => {
  it('streams a response as the replica writes it (the first chunk arrives before the replica ends)', async () => {
    let finish: (() => void) | undefined;
    const u = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('first\n');
      finish = () => res.end('second\n');
    });
    const { port } = await activatorFor(u);
    let seen = '';
    const reply = send(port, {
      onChunk: (d) => {
        seen += d.toString();
        if (seen === 'first\n') finish?.();
      },
    });
    const r = await reply;
    expect(r.status).toBe(200);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.body.toString()).toBe('first\nsecond\n');
  });

  it('passes large bodies intact: 4 MiB with Content-Length, 4 MiB chunked, and a 1 MiB request body', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const u = await upstream((req, res) => {
      if (req.method === 'POST') {
        const parts: Buffer[] = [];
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('end', () => {
          const got = Buffer.concat(parts);
          res.writeHead(200, { 'content-length': got.length });
          res.end(got);
        });
        return;
      }
      if (req.method === 'PUT') {
        res.writeHead(200);
        for (let off = 0; off < big.length; off += 64 * 1024) res.write(big.subarray(off, off + 64 * 1024));
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': big.length });
      res.end(big);
    });
    const { a, port } = await activatorFor(u);
    const fixed = await send(port);
    expect(fixed.headers['content-length']).toBe(String(big.length));
    expect(fixed.body.equals(big)).toBe(true);
    const chunked = await send(port, { method: 'PUT' });
    expect(chunked.body.equals(big)).toBe(true);
    const upload = big.subarray(0, 1024 * 1024);
    const echoed = await send(port, { method: 'POST', body: upload });
    expect(echoed.body.equals(upload)).toBe(true);
    await waitFor(() => a.inFlight(KEY) === 0);
  });

  it('answers HEAD, 204 and 304 without a body and keeps their headers', async () => {
    const u = await upstream((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': '12', etag: '"v1"' });
        res.end();
      } else if (req.method === 'DELETE') {
        res.writeHead(204, { 'x-done': 'yes' });
        res.end();
      } else {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
      }
    });
    const { port } = await activatorFor(u);
    const head = await send(port, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('12');
    expect(head.body.length).toBe(0);
    const none = await send(port, { method: 'DELETE' });
    expect(none.status).toBe(204);
    expect(none.headers['x-done']).toBe('yes');
    const notModified = await send(port);
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe('"v1"');
    // The connection stays usable after bodiless responses.
    expect((await send(port, { method: 'HEAD' })).status).toBe(200);
  });

  it('reuses keep-alive connections to the replica and closes them when the replica leaves', async () => {
    const u = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    const { a, port } = await activatorFor(u);
    for (let i = 0; i < 20; i++) expect((await send(port)).body.toString()).toBe('ok');
    expect(u.opened).toBe(1);
    const burst = await Promise.all(Array.from({ length: 10 }, () => send(port)));
    expect(burst.every((r) => r.status === 200)).toBe(true);
    expect(u.opened).toBeLessThanOrEqual(10);
    const afterBurst = u.opened;
    for (let i = 0; i < 10; i++) await send(port);
    expect(u.opened).toBe(afterBurst);
    a.upsertRevision({
      key: KEY,
      namespace: 'default',
      service: 'hello',
      revision: 'hello-00001',
      containerConcurrency: 0,
      timeoutSeconds: 30,
      endpoints: [],
    });
    await waitFor(() => u.open === 0);
  });

  it('opens a new connection when the replica closed the idle one', async () => {
    const u = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    const { port } = await activatorFor(u);
    expect((await send(port)).body.toString()).toBe('ok');
    servers.at(-1)!.closeIdleConnections();
    await waitFor(() => u.open === 0);
    for (let i = 0; i < 3; i++) expect((await send(port)).body.toString()).toBe('ok');
    expect(u.opened).toBe(2);
  });

  it('aborts the upstream exchange when the client goes away mid-response, and accounts the request as finished', async () => {
    let upstreamClosed = false;
    const u = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      res.on('close', () => (upstreamClosed = true));
    });
    const { a, port } = await activatorFor(u);
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: HOST } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end();
    });
    await waitFor(() => upstreamClosed && a.inFlight(KEY) === 0);
    const u2 = await upstream((_req, res) => res.end('fine'));
    a.upsertRevision({
      key: KEY,
      namespace: 'default',
      service: 'hello',
      revision: 'hello-00001',
      containerConcurrency: 0,
      timeoutSeconds: 30,
      endpoints: [{ id: 'hello-00001-2', host: '127.0.0.1', port: u2.port }],
    });
    expect((await send(port)).body.toString()).toBe('fine');
  });
});
