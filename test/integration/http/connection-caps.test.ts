/**
 * The three HTTP servers (service ingress, broker ingress, control API) on real sockets: connection caps per client
 * address and per port, the header timeout (408), oversized heads (431) and HTTP/1.1 requests without Host (400),
 * each answered with its reason in the server's own error format. "One client" is one loopback source address
 * (127.0.0.2); another client is 127.0.0.3. Small caps keep the socket counts low.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Activator } from '../../../activator/index.js';
import { MemoryBackend } from '../../../broker/backends/index.js';
import { buildBrokerIngress } from '../../../broker/ingress/index.js';
import type { HttpLimitsInput } from '../../../core/index.js';
import { systemClock } from '../../../src/clock.js';
import { buildApiServer } from '../../../src/control/api-server.js';
import { Store } from '../../../src/control/store.js';
import { bodyOf, headerOf, rawConnect, rawExchange, statusOf, type RawConnection } from '../../support/raw-http.js';
import { waitFor } from '../../support/wait.js';

interface Target {
  port: number;
  /** A complete request the server answers with `okStatus`. */
  ok: string;
  okStatus: number;
  /** The reason in an error answer, read the way this server writes it. */
  reasonOf(answer: string): string;
  close(): Promise<void>;
}

type Start = (limits: HttpLimitsInput) => Promise<Target>;

const cleanups: (() => Promise<void>)[] = [];
const sockets: RawConnection[] = [];

afterEach(async () => {
  for (const c of sockets.splice(0)) c.socket.destroy();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listening(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

const serviceIngress: Start = async (connectionLimits) => {
  const replica = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
    res.end('hello');
  });
  const replicaPort = await listening(replica);
  cleanups.push(() => new Promise((r) => replica.close(() => r())));
  const a = new Activator({ clock: systemClock, reporter: { report: () => undefined, poke: () => undefined }, registry: new Registry(), connectionLimits, drainTimeoutMs: 0 });
  const { port } = await a.listen({ port: 0 });
  a.setRouting({ hosts: new Map([['hello.default.localhost', { namespace: 'default', service: 'hello', targets: [{ revision: 'default/hello-00001', percent: 100 }] }]]) });
  a.upsertRevision({
    key: 'default/hello-00001',
    namespace: 'default',
    service: 'hello',
    revision: 'hello-00001',
    containerConcurrency: 0,
    timeoutSeconds: 300,
    endpoints: [{ id: 'r0', host: '127.0.0.1', port: replicaPort }],
  });
  return {
    port,
    ok: 'GET / HTTP/1.1\r\nHost: hello.default.localhost\r\nConnection: close\r\n\r\n',
    okStatus: 200,
    reasonOf: (answer) => {
      expect(headerOf(answer, 'content-type')).toBe('text/plain; charset=utf-8');
      return bodyOf(answer).replace(/\n$/, '');
    },
    close: () => a.close(),
  };
};

const brokerIngress: Start = async (connectionLimits) => {
  const backend = new MemoryBackend({ clock: systemClock });
  const broker = { namespace: 'default', name: 'default' };
  await backend.ensureBroker(broker);
  const ingress = buildBrokerIngress({ lookup: (ns, name) => (ns === 'default' && name === 'default' ? { broker, backend } : undefined), clock: systemClock, registry: new Registry(), connectionLimits });
  await ingress.listen({ port: 0, host: '127.0.0.1' });
  const addr = ingress.server.address();
  const event = 'ce-specversion: 1.0\r\nce-id: e1\r\nce-source: /s\r\nce-type: t\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n';
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    ok: `POST /default/default HTTP/1.1\r\nHost: 127.0.0.1\r\n${event}Connection: close\r\n\r\nhi`,
    okStatus: 202,
    reasonOf: (answer) => {
      expect(headerOf(answer, 'content-type')).toBe('application/json; charset=utf-8');
      return (JSON.parse(bodyOf(answer)) as { error: string }).error;
    },
    close: async () => {
      await ingress.close();
      await backend.close();
    },
  };
};

const controlApiOn = (tls?: { cert: Buffer; key: Buffer }): Start => async (connectionLimits) => {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-caps-'));
  const store = await Store.open({ dir });
  const app = buildApiServer({ store, registry: new Registry(), token: 'test-token-0123456789abcdef', connectionLimits, ...(tls && { tls }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    ok: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    okStatus: 200,
    reasonOf: (answer) => {
      const status = JSON.parse(bodyOf(answer)) as { kind: string; status: string; code: number; message: string };
      expect([status.kind, status.status, status.code]).toEqual(['Status', 'Failure', statusOf(answer)]);
      return status.message;
    },
    close: async () => {
      await app.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
const controlApi = controlApiOn();

async function start(how: Start, limits: HttpLimitsInput): Promise<Target> {
  const t = await how(limits);
  cleanups.push(() => t.close());
  return t;
}

/** A connection that sent part of a request head and waits. */
async function slow(port: number, localAddress: string): Promise<RawConnection> {
  const c = await rawConnect(port, { localAddress, send: 'GET / HTTP/1.1\r\nHost: slow.example\r\nX-Slow: ' });
  sockets.push(c);
  return c;
}

describe.each([
  ['service ingress', serviceIngress],
  ['broker ingress', brokerIngress],
  ['control API', controlApi],
] as const)('%s', (_name, how) => {
  it('keeps answering another client while one client floods it with slow-header connections over its cap', async () => {
    const t = await start(how, { maxConnections: 20, maxConnectionsPerClient: 4, headersTimeoutMs: 60_000 });
    const flood = await Promise.all(Array.from({ length: 10 }, () => slow(t.port, '127.0.0.2')));
    let closed = 0;
    for (const c of flood) void c.closed.then(() => closed++);
    await waitFor(() => closed === 6, { what: '6 of 10 flood connections refused' });
    const refused = flood.filter((c) => c.socket.destroyed || c.received() !== '');
    expect(refused).toHaveLength(6);
    for (const c of refused) {
      const answer = await c.closed;
      expect(statusOf(answer)).toBe(503);
      expect(headerOf(answer, 'retry-after')).toBe('1');
      expect(t.reasonOf(answer)).toBe('too many connections from 127.0.0.2: at most 4 at once per client address; close idle connections or retry later');
    }
    const other = await rawExchange(t.port, t.ok, '127.0.0.3');
    expect(statusOf(other)).toBe(t.okStatus);
    for (const c of flood.filter((f) => !refused.includes(f))) expect(c.received()).toBe('');
  });

  it('refuses every client once the port holds its total, and answers again when connections close', async () => {
    const t = await start(how, { maxConnections: 4, maxConnectionsPerClient: 2, headersTimeoutMs: 60_000 });
    const held = [await slow(t.port, '127.0.0.2'), await slow(t.port, '127.0.0.2'), await slow(t.port, '127.0.0.4'), await slow(t.port, '127.0.0.4')];
    // The fifth connection may reach the server before the fourth was accepted: wait for a 503.
    const full = await waitFor(async () => {
      const answer = await rawExchange(t.port, t.ok, '127.0.0.3');
      return statusOf(answer) === 503 ? answer : undefined;
    });
    expect(headerOf(full, 'retry-after')).toBe('1');
    expect(t.reasonOf(full)).toBe('too many connections to this port: at most 4 at once; retry later');
    for (const c of held) c.socket.destroy();
    await waitFor(async () => statusOf(await rawExchange(t.port, t.ok, '127.0.0.3')) === t.okStatus);
  });

  it('answers 408 with the reason when a request head does not arrive within the header timeout', async () => {
    const t = await start(how, { headersTimeoutMs: 300 });
    const c = await slow(t.port, '127.0.0.2');
    const answer = await c.closed;
    expect(statusOf(answer)).toBe(408);
    expect(headerOf(answer, 'connection')).toBe('close');
    expect(t.reasonOf(answer)).toBe('request timeout: the request line and headers did not arrive within 300 ms');
    expect(statusOf(await rawExchange(t.port, t.ok, '127.0.0.3'))).toBe(t.okStatus);
  });

  it('answers 400 with the reason to an HTTP/1.1 request without Host', async () => {
    const t = await start(how, {});
    const answer = await rawExchange(t.port, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(statusOf(answer)).toBe(400);
    expect(t.reasonOf(answer)).toBe('bad request: an HTTP/1.1 request must have a Host header (RFC 9112 section 3.2)');
  });

  it('answers 400 with the reason to a request with two Host headers (RFC 9112 section 3.2)', async () => {
    const t = await start(how, {});
    const answer = await rawExchange(t.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nhost: evil.example\r\nConnection: close\r\n\r\n');
    expect(statusOf(answer)).toBe(400);
    expect(t.reasonOf(answer)).toBe('bad request: more than one Host header (RFC 9112 section 3.2)');
  });

  it('answers 431 with the reason to request headers over 16 KiB', async () => {
    const t = await start(how, {});
    const answer = await rawExchange(t.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(answer)).toBe(431);
    expect(t.reasonOf(answer)).toBe('request header fields too large: the request line and headers must fit in 16384 bytes');
  });
});

describe('control API over https', () => {
  let certDir: string;
  let tls: { cert: Buffer; key: Buffer };
  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'wisp-caps-tls-'));
    const [cert, key] = [join(certDir, 'api.crt'), join(certDir, 'api.key')];
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert]);
    tls = { cert: await readFile(cert), key: await readFile(key) };
  });
  afterAll(() => rm(certDir, { recursive: true, force: true }));

  it('closes a flooding client’s connections over its cap unanswered (no TLS handshake for them) and keeps serving another client', async () => {
    const t = await start(controlApiOn(tls), { maxConnections: 20, maxConnectionsPerClient: 2, headersTimeoutMs: 60_000 });
    // A TLS flood that never starts its handshake: raw TCP connections.
    const flood = await Promise.all(Array.from({ length: 6 }, async () => {
      const c = await rawConnect(t.port, { localAddress: '127.0.0.2' });
      sockets.push(c);
      return c;
    }));
    let closed = 0;
    for (const c of flood) void c.closed.then(() => closed++);
    await waitFor(() => closed === 4, { what: '4 of 6 flood connections closed' });
    for (const c of flood) expect(c.received()).toBe('');
    const other = await rawExchange(t.port, t.ok, '127.0.0.3', { tls: true });
    expect(statusOf(other)).toBe(200);
  });

  it('answers 408 and 400 with their reasons over TLS', async () => {
    const t = await start(controlApiOn(tls), { headersTimeoutMs: 300 });
    const c = await rawConnect(t.port, { localAddress: '127.0.0.2', send: 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n', tls: true });
    sockets.push(c);
    const late = await c.closed;
    expect(statusOf(late)).toBe(408);
    expect(t.reasonOf(late)).toBe('request timeout: the request line and headers did not arrive within 300 ms');
    const noHost = await rawExchange(t.port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n', '127.0.0.3', { tls: true });
    expect(statusOf(noHost)).toBe(400);
    expect(t.reasonOf(noHost)).toBe('bad request: an HTTP/1.1 request must have a Host header (RFC 9112 section 3.2)');
  });
});
