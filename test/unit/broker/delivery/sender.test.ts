import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent } from 'cloudevents';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpSender, isLoopbackName } from '../../../../broker/delivery/index.js';
import { freePort } from '../../../support/wait.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: Server[] = [];
const senders: HttpSender[] = [];

async function serve(reply: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ port: number; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      reply(req, res);
    });
  });
  srv.on('connection', () => connections++);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, seen, connections: () => connections };
}

function sender(opts?: ConstructorParameters<typeof HttpSender>[0]): HttpSender {
  const s = new HttpSender(opts);
  senders.push(s);
  return s;
}

const event = new CloudEvent({ id: 'e-1', source: '/test', type: 'dev.wisp.test', data: { hello: 'world' }, partitionkey: 'k1' });

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close(100)));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

describe('HttpSender', () => {
  it('with a route, connects where it says and keeps the original Host; a routing error is a network error with its message', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(202);
      res.end();
    });
    const asked: string[] = [];
    const s = sender({
      route: (origin) => {
        asked.push(origin);
        if (origin.includes('gone.')) return { error: 'service team/gone has no ready endpoint for port 80' };
        return origin.endsWith('.svc.cluster.local') ? { origin: `http://127.0.0.1:${srv.port}` } : undefined;
      },
    });
    const ok = await s.send('http://display.team.svc.cluster.local/events?x=1', event, { timeoutMs: 2_000 });
    expect(ok).toMatchObject({ kind: 'response', status: 202 });
    expect(srv.seen.map((r) => [r.url, r.headers.host, r.headers['ce-id']])).toEqual([['/events?x=1', 'display.team.svc.cluster.local', 'e-1']]);
    const failed = await s.send('http://gone.team.svc.cluster.local/', event, { timeoutMs: 2_000 });
    expect(failed.kind).toBe('network-error');
    expect(failed.kind === 'network-error' && failed.error.message).toBe('service team/gone has no ready endpoint for port 80');
    // Not routed: connects to the origin itself.
    const direct = await s.send(`http://127.0.0.1:${srv.port}/plain`, event, { timeoutMs: 2_000 });
    expect(direct).toMatchObject({ kind: 'response', status: 202 });
    expect(srv.seen[1]?.headers.host).toBe(`127.0.0.1:${srv.port}`);
    expect(asked).toEqual(['http://display.team.svc.cluster.local', 'http://gone.team.svc.cluster.local', `http://127.0.0.1:${srv.port}`]);
  });

  it('POSTs in binary mode with Prefer: reply and returns the response', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(202, { 'x-answer': '42' });
      res.end('ok');
    });
    const res = await sender().send(`http://127.0.0.1:${srv.port}/hook?x=1`, event, { timeoutMs: 2000, preferReply: true });
    expect(res).toMatchObject({ kind: 'response', status: 202, truncated: false });
    if (res.kind !== 'response') throw new Error('no response');
    expect(res.headers['x-answer']).toBe('42');
    expect(res.body.toString()).toBe('ok');
    const req = srv.seen[0];
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/hook?x=1');
    expect(req?.headers).toMatchObject({
      'ce-id': 'e-1',
      'ce-source': '/test',
      'ce-type': 'dev.wisp.test',
      'ce-specversion': '1.0',
      'ce-partitionkey': 'k1',
      prefer: 'reply',
    });
    expect(req?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(req?.body ?? '')).toEqual({ hello: 'world' });
  });

  it('sends no Prefer header unless asked, and binary data as bytes', async () => {
    const srv = await serve((_req, res) => res.writeHead(204).end());
    const bin = new CloudEvent({ id: 'b', source: '/s', type: 't', datacontenttype: 'application/octet-stream', data: Buffer.from([1, 2, 3]) });
    const res = await sender().send(`http://127.0.0.1:${srv.port}/`, bin, { timeoutMs: 2000 });
    expect(res).toMatchObject({ kind: 'response', status: 204 });
    expect(srv.seen[0]?.headers.prefer).toBeUndefined();
    expect(srv.seen[0]?.headers['content-length']).toBe('3');
  });

  it('reuses keep-alive connections', async () => {
    const srv = await serve((_req, res) => res.writeHead(202).end());
    const s = sender();
    for (let i = 0; i < 8; i++) expect((await s.send(`http://127.0.0.1:${srv.port}/`, event, { timeoutMs: 2000 })).kind).toBe('response');
    // undici may open a second socket when a request follows the previous response within the same tick.
    expect(srv.connections()).toBeLessThanOrEqual(2);
  });

  it('times out an attempt that gets no response', async () => {
    const srv = await serve(() => {
      /* never answers */
    });
    const started = Date.now();
    const res = await sender().send(`http://127.0.0.1:${srv.port}/`, event, { timeoutMs: 150 });
    expect(res).toEqual({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports refused connections and bad URLs as network errors', async () => {
    const port = await freePort();
    const res = await sender().send(`http://127.0.0.1:${port}/`, event, { timeoutMs: 2000 });
    expect(res.kind).toBe('network-error');
    expect((await sender().send('not a url', event, { timeoutMs: 100 })).kind).toBe('network-error');
    expect((await sender().send('ftp://x/', event, { timeoutMs: 100 })).kind).toBe('network-error');
  });

  it('reads at most maxResponseBytes of a response', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('x'.repeat(64 * 1024));
    });
    const res = await sender({ maxResponseBytes: 1000 }).send(`http://127.0.0.1:${srv.port}/`, event, { timeoutMs: 2000 });
    expect(res).toMatchObject({ kind: 'response', status: 500, truncated: true });
    if (res.kind === 'response') expect(res.body.length).toBe(1000);
  });

  it('connects *.localhost to 127.0.0.1 without DNS, keeping the Host header', async () => {
    const srv = await serve((_req, res) => res.writeHead(202).end());
    const res = await sender().send(`http://hello.default.localhost:${srv.port}/path`, event, { timeoutMs: 2000 });
    expect(res).toMatchObject({ kind: 'response', status: 202 });
    expect(srv.seen[0]?.headers.host).toBe(`hello.default.localhost:${srv.port}`);
    expect(srv.seen[0]?.url).toBe('/path');
    expect(isLoopbackName('HELLO.Default.LocalHost.')).toBe(true);
    expect(isLoopbackName('localhost')).toBe(true);
    expect(isLoopbackName('localhost.example.com')).toBe(false);
    expect(isLoopbackName('notlocalhost')).toBe(false);
  });
});
