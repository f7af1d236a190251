/**
 * HTTP clients for probes, all aimed at 127.0.0.0/8 only:
 * - rawExchange: writes bytes as given on a fresh TCP connection (malformed requests node:http refuses to send)
 *   and parses the first response (status, headers, Content-Length or chunked body);
 * - httpCall: a well-formed request through node:http (optionally from a chosen local address, keep-alive agent).
 */
import { Agent, request } from 'node:http';
import { connect, isIPv4 } from 'node:net';

export interface Exchange {
  /** Undefined when no response arrived: see `failure`. */
  status: number | undefined;
  headers: Record<string, string>;
  body: Buffer;
  /** The response head as received (status line and header lines; repeated headers appear as often as sent). */
  head: string;
  /** `timeout` (no complete response in time), `reset` (ECONNRESET/EPIPE), `closed` (server closed without a response), `refused`. */
  failure?: string;
  ms: number;
}

/** Refuses any target outside loopback: the probes never aim traffic elsewhere. */
export function assertLoopback(host: string): void {
  if (!(isIPv4(host) && host.startsWith('127.'))) throw new Error(`probe target ${host} is not in 127.0.0.0/8`);
}

function parseHead(head: string): { status: number | undefined; headers: Record<string, string>; head: string } {
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: m ? Number(m[1]) : undefined, headers, head };
}

/** Length of a complete chunked body at the start of `buf`, or -1 while incomplete. */
function chunkedLength(buf: Buffer): number {
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol === -1) return -1;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return buf.length;
    at = eol + 2 + size + 2;
    if (at > buf.length) return -1;
    if (size === 0) return at;
  }
}

/** Sends `data` (written in `parts`, each after `gapMs`) on a new connection and reads one response. */
export function rawExchange(opts: {
  port: number;
  host?: string;
  localAddress?: string;
  data: Buffer | string | (Buffer | string)[];
  gapMs?: number;
  timeoutMs?: number;
  /** HEAD responses carry no body. */
  head?: boolean;
}): Promise<Exchange> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = connect({ host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: Omit<Exchange, 'ms'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...r, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish({ ...partial(), failure: 'timeout' }), opts.timeoutMs ?? 5000);
    const partial = (): Omit<Exchange, 'ms'> => {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return { status: undefined, headers: {}, head: '', body: Buffer.alloc(0) };
      const h = parseHead(buf.subarray(0, end).toString('latin1'));
      return { ...h, body: buf.subarray(end + 4) };
    };
    const check = (): void => {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const h = parseHead(buf.subarray(0, end).toString('latin1'));
      const rest = buf.subarray(end + 4);
      if (h.status !== undefined && h.status < 200) {
        // 100 Continue and friends: drop and wait for the final response.
        buf = rest;
        check();
        return;
      }
      if (opts.head || h.status === 204 || h.status === 304) return finish({ ...h, body: Buffer.alloc(0) });
      const cl = h.headers['content-length'];
      if (cl !== undefined) {
        const n = Number(cl);
        if (rest.length >= n) finish({ ...h, body: rest.subarray(0, n) });
        return;
      }
      if (/chunked/i.test(h.headers['transfer-encoding'] ?? '')) {
        const n = chunkedLength(rest);
        if (n !== -1) finish({ ...h, body: rest.subarray(0, n) });
      }
      // Otherwise the body ends when the server closes.
    };
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      check();
    });
    sock.on('end', () => {
      const p = partial();
      finish(p.status === undefined ? { ...p, failure: 'closed' } : p);
    });
    sock.on('close', () => {
      const p = partial();
      finish(p.status === undefined ? { ...p, failure: 'closed' } : p);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const p = partial();
      const failure = err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : (err.code ?? 'error');
      finish(p.status === undefined ? { ...p, failure } : p);
    });
    sock.on('connect', () => {
      const parts = Array.isArray(opts.data) ? opts.data : [opts.data];
      let i = 0;
      const next = (): void => {
        if (done || i >= parts.length) return;
        const part = parts[i++] as Buffer | string;
        sock.write(part, () => {
          if (i < parts.length) setTimeout(next, opts.gapMs ?? 0);
        });
      };
      next();
    });
  });
}

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  ms: number;
}

/** One well-formed request via node:http; rejects on network errors and timeouts. */
export function httpCall(opts: {
  port: number;
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  agent?: Agent;
  localAddress?: string;
}): Promise<CallResult> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: opts.port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        agent: opts.agent ?? false,
        timeout: opts.timeoutMs ?? 10_000,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A short name for a request failure. */
export function failureName(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'reset';
  if (code === 'ECONNREFUSED') return 'refused';
  return typeof code === 'string' ? code : 'error';
}

export function keepAliveAgent(maxSockets: number, localAddress?: string): Agent {
  return new Agent({ keepAlive: true, maxSockets, ...(localAddress ? { localAddress } : {}) } as ConstructorParameters<typeof Agent>[0]);
}
