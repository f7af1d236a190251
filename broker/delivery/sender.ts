/**
 * HttpSender: POSTs a CloudEvent in binary mode over one shared undici Agent (keep-alive pools per origin,
 * shared by every trigger), with a per-attempt deadline and at most MAX_RESPONSE_BYTES of response read.
 *
 * Host names ending in `.localhost` (and `localhost` itself) are loopback names (RFC 6761 §6.3): they
 * connect to 127.0.0.1 without asking DNS, and the request keeps its `Host` header, so a subscriber URL such
 * as `http://hello.default.localhost:8080` reaches the activator on loopback, routed by that Host.
 *
 * The deadline is wall-clock time (real timers): it bounds real network I/O, which a test clock cannot
 * speed up.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { HTTP, type CloudEvent } from 'cloudevents';
import { Agent } from 'undici';
import { MAX_RESPONSE_BYTES } from './defaults.js';
import type { SendOptions, SendResult, Sender } from './types.js';

/** True for `localhost` and any name under `.localhost` (case-insensitive, trailing dot allowed). */
export function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `net.connect` lookup that answers loopback names itself and asks DNS for the rest. */
export const loopbackAwareLookup: LookupFunction = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
  if (isLoopbackName(hostname)) {
    if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  (dnsLookup as (h: string, o: LookupOptions, cb: LookupCallback) => void)(hostname, options, callback);
};

export interface HttpSenderOptions {
  /** Idle keep-alive connections are closed after this long (default 30 s). */
  keepAliveTimeoutMs?: number;
  /** Connections per origin (default 100, like Knative's broker filter MaxIdleConnsPerHost). */
  connectionsPerOrigin?: number;
  /** Response bytes read (default 1 MiB). */
  maxResponseBytes?: number;
}

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`no complete response within ${ms} ms`);
    this.name = 'AttemptTimeout';
  }
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function bodyOf(event: CloudEvent<unknown>): { headers: Record<string, string>; body: string | Buffer | undefined } {
  const msg = HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) {
    if (v === undefined) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  const b = msg.body;
  let body: string | Buffer | undefined;
  if (b === undefined || b === null) body = undefined;
  else if (typeof b === 'string') body = b;
  else if (b instanceof Uint8Array) body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  else if (ArrayBuffer.isView(b)) body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  else body = JSON.stringify(b);
  return { headers, body };
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export class HttpSender implements Sender {
  readonly #agent: Agent;
  readonly #maxBytes: number;

  constructor(opts: HttpSenderOptions = {}) {
    this.#maxBytes = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.#agent = new Agent({
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
      connections: opts.connectionsPerOrigin ?? 100,
      connect: { lookup: loopbackAwareLookup },
    });
  }

  async send(url: string, event: CloudEvent<unknown>, opts: SendOptions): Promise<SendResult> {
    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      return { kind: 'network-error', error: new Error(`invalid URL ${JSON.stringify(url)}`, { cause: err }) };
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return { kind: 'network-error', error: new Error(`unsupported URL scheme ${JSON.stringify(target.protocol)} in ${url}`) };
    }
    let message: ReturnType<typeof bodyOf>;
    try {
      message = bodyOf(event);
    } catch (err) {
      return { kind: 'network-error', error: new Error('event cannot be written in binary mode', { cause: err }) };
    }
    if (opts.preferReply === true) message.headers.prefer = 'reply';
    const timeoutMs = Math.max(1, opts.timeoutMs);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new AttemptTimeout(timeoutMs));
    }, timeoutMs);
    timer.unref();
    try {
      const res = await this.#agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: message.headers,
        body: message.body ?? '',
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        if (size + buf.length > this.#maxBytes) {
          chunks.push(buf.subarray(0, this.#maxBytes - size));
          size = this.#maxBytes;
          truncated = true;
          break;
        }
        chunks.push(buf);
        size += buf.length;
      }
      if (truncated) res.body.destroy();
      return { kind: 'response', status: res.statusCode, headers: flattenHeaders(res.headers), body: Buffer.concat(chunks, size), truncated };
    } catch (err) {
      if (timedOut || TIMEOUT_CODES.has(errorCode(err) ?? '')) return { kind: 'timeout' };
      return { kind: 'network-error', error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes idle connections and waits for requests in flight (bounded: after `graceMs` they are aborted). */
  async close(graceMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
      timer.unref();
    });
    const outcome = await Promise.race([this.#agent.close().then(() => 'closed' as const), grace]);
    clearTimeout(timer);
    if (outcome === 'late') await this.#agent.destroy();
  }
}
