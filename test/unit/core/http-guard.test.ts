import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { guardHttpServer, type HttpGuard, type HttpGuardOptions } from '../../../core/index.js';
import { bodyOf, headerOf, rawConnect, rawExchange, statusOf, type RawConnection } from '../../support/raw-http.js';
import { waitFor } from '../../support/wait.js';

const servers: Server[] = [];
const sockets: RawConnection[] = [];

afterEach(async () => {
  for (const c of sockets.splice(0)) c.socket.destroy();
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

async function guarded(opts: HttpGuardOptions, serverOpts: { maxHeaderSize?: number } = {}): Promise<{ port: number; guard: HttpGuard; server: Server }> {
  const server = createServer(serverOpts, (req, res) => {
    req.resume();
    const body = `hello ${req.headers.host ?? '(no host)'}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const guard = guardHttpServer(server, opts);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, guard, server };
}

/** A connection that sent only part of a request head and waits. */
async function slow(port: number, localAddress: string): Promise<RawConnection> {
  const c = await rawConnect(port, { localAddress, send: 'GET / HTTP/1.1\r\nHost: slow\r\n' });
  sockets.push(c);
  return c;
}

const GET = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

describe('guardHttpServer', () => {
  it('refuses a client over its cap with 503, Retry-After and the reason, and keeps serving another client', async () => {
    const { port, guard } = await guarded({ maxConnections: 10, maxConnectionsPerClient: 3, headersTimeoutMs: 60_000 });
    const held = [await slow(port, '127.0.0.2'), await slow(port, '127.0.0.2'), await slow(port, '127.0.0.2')];
    await waitFor(() => guard.connectionsOf('127.0.0.2') === 3);
    const refused = await Promise.all([slow(port, '127.0.0.2'), slow(port, '127.0.0.2')]);
    for (const c of refused) {
      const answer = await c.closed;
      expect(statusOf(answer)).toBe(503);
      expect(headerOf(answer, 'retry-after')).toBe('1');
      expect(headerOf(answer, 'connection')).toBe('close');
      expect(JSON.parse(bodyOf(answer))).toEqual({
        error: 'too many connections from 127.0.0.2: at most 3 at once per client address; close idle connections or retry later',
      });
    }
    const other = await rawExchange(port, GET, '127.0.0.3');
    expect(statusOf(other)).toBe(200);
    expect(bodyOf(other)).toBe('hello x');
    expect(guard.connectionsOf('127.0.0.2')).toBe(3);
    for (const c of held) expect(c.received()).toBe('');
    // Closing the held connections frees the client's slots.
    for (const c of held) c.socket.destroy();
    await waitFor(() => guard.connections === 0);
    expect(statusOf(await rawExchange(port, GET, '127.0.0.2'))).toBe(200);
  });

  it('refuses any client once the port holds its total, and admits again when one closes', async () => {
    const { port, guard } = await guarded({ maxConnections: 4, maxConnectionsPerClient: 2, headersTimeoutMs: 60_000 });
    const held = [await slow(port, '127.0.0.2'), await slow(port, '127.0.0.2'), await slow(port, '127.0.0.3'), await slow(port, '127.0.0.3')];
    await waitFor(() => guard.connections === 4);
    const full = await rawExchange(port, GET, '127.0.0.4');
    expect(statusOf(full)).toBe(503);
    expect(headerOf(full, 'retry-after')).toBe('1');
    expect(JSON.parse(bodyOf(full))).toEqual({ error: 'too many connections to this port: at most 4 at once; retry later' });
    held[0]?.socket.destroy();
    await waitFor(() => guard.connections === 3);
    expect(statusOf(await rawExchange(port, GET, '127.0.0.4'))).toBe(200);
  });

  it('answers 408 with the reason when a request head does not arrive within the header timeout', async () => {
    const { port, guard } = await guarded({ headersTimeoutMs: 200 });
    const c = await slow(port, '127.0.0.2');
    const answer = await c.closed;
    expect(statusOf(answer)).toBe(408);
    expect(headerOf(answer, 'content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(bodyOf(answer))).toEqual({ error: 'request timeout: the request line and headers did not arrive within 200 ms' });
    await waitFor(() => guard.connections === 0);
    // A complete request on a fresh connection is not affected.
    expect(statusOf(await rawExchange(port, GET))).toBe(200);
  });

  it('answers 431 to an oversized head, 400 with the parser reason to a garbled one', async () => {
    const { port } = await guarded({}, { maxHeaderSize: 1024 });
    const big = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`);
    expect(statusOf(big)).toBe(431);
    expect(JSON.parse(bodyOf(big))).toEqual({ error: 'request header fields too large: the request line and headers must fit in 1024 bytes' });
    const garbled = await rawExchange(port, 'NOT A REQUEST\r\n\r\n');
    expect(statusOf(garbled)).toBe(400);
    expect(JSON.parse(bodyOf(garbled)).error).toMatch(/^bad request: Parse Error: /);
  });

  it('answers 400 with a reason to an HTTP/1.1 request without Host; HTTP/1.0 without Host still reaches the handler', async () => {
    const { port } = await guarded({});
    const noHost = await rawExchange(port, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(statusOf(noHost)).toBe(400);
    expect(headerOf(noHost, 'connection')).toBe('close');
    expect(JSON.parse(bodyOf(noHost))).toEqual({ error: 'bad request: an HTTP/1.1 request must have a Host header (RFC 9112 section 3.2)' });
    const old = await rawExchange(port, 'GET / HTTP/1.0\r\n\r\n');
    expect(statusOf(old)).toBe(200);
    expect(bodyOf(old)).toBe('hello (no host)');
    const lower = await rawExchange(port, 'GET / HTTP/1.1\r\nuser-agent: t\r\nhOsT: y\r\nConnection: close\r\n\r\n');
    expect(bodyOf(lower)).toBe('hello y');
  });

  it('renders reasons in the server format it is given, and keeps keep-alive connections serving', async () => {
    const { port } = await guarded({ errorBody: (status, message) => ({ contentType: 'text/plain', body: `${status}: ${message}` }) });
    const c = await rawConnect(port, { send: 'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\nGET /c HTTP/1.1\r\n\r\n' });
    sockets.push(c);
    const answer = await c.closed;
    expect(answer.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 400']);
    expect(answer).toContain('hello a');
    expect(answer).toContain('hello b');
    expect(answer.endsWith('400: bad request: an HTTP/1.1 request must have a Host header (RFC 9112 section 3.2)')).toBe(true);
  });

  it('sets node’s header timeout and checking interval, and refuses to guard a server already listening', async () => {
    const { server, guard } = await guarded({ headersTimeoutMs: 3000 });
    expect(server.headersTimeout).toBe(3000);
    expect((server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval).toBe(600);
    expect(guard.limits).toEqual({ maxConnections: 4096, maxConnectionsPerClient: 512, headersTimeoutMs: 3000, checkIntervalMs: 600 });
    expect(() => guardHttpServer(server)).toThrow(/before listen\(\)/);
    expect(() => guardHttpServer(createServer())).toThrow(/attach the request listener/);
  });
});
