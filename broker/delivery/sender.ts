/**
 * HttpSender: POSTs a CloudEvent (binary mode; structured mode when binary would not arrive intact, see
 * message.ts) over one shared undici Agent (keep-alive pools per origin, shared by every trigger), with a
 * per-attempt deadline and at most MAX_RESPONSE_BYTES of response read.
 *
 * Hot path, kept lean (measured with `npm run bench:broker`): the request goes through undici's `dispatch`
 * with a callback handler (no response stream, no async iterator, no AbortController), the message
 * headers and body are built once per event (message.ts), deadlines share one timer per timeout value
 * (deadlines.ts), and an empty response body is the shared empty Buffer.
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
import type { CloudEvent } from 'cloudevents';
import type { Dispatcher } from 'undici';
import { Agent } from '../../core/undici.js';
import { systemClock } from '../../src/clock.js';
import { deliveryMessage, type DeliveryMessage } from './message.js';
import { Deadlines, type DeadlineHandle, type Expirable } from './deadlines.js';
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
  /**
   * Where to connect for an origin, asked on every send: another origin (the request keeps the original Host header),
   * an error (the attempt fails as a network error with that message), or undefined to connect to the origin itself.
   * Kubernetes mode outside the cluster maps `http://<svc>.<ns>.svc.cluster.local` to a ready endpoint this way.
   */
  route?: (origin: string) => { origin: string } | { error: string } | undefined;
}

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`no complete response within ${ms} ms`);
    this.name = 'AttemptTimeout';
  }
}

class ResponseTooLarge extends Error {
  constructor(max: number) {
    super(`response body larger than ${max} bytes; the rest is discarded`);
    this.name = 'ResponseTooLarge';
  }
}

const INVALID_ARG = 'UND_ERR_INVALID_ARG';
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const EMPTY = Buffer.alloc(0);
const TIMEOUT: SendResult = Object.freeze({ kind: 'timeout' });

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in raw) {
    const v = raw[k];
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

type Target = { origin: string; host: string; path: string } | { error: Error };

function parseTarget(url: string): Target {
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    return { error: new Error(`invalid URL ${JSON.stringify(url)}`, { cause: err }) };
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return { error: new Error(`unsupported URL scheme ${JSON.stringify(target.protocol)} in ${url}`) };
  }
  return { origin: target.origin, host: target.host, path: `${target.pathname}${target.search}` };
}

/** Subscriber URLs are few; parsed ones are kept (bounded, cleared when it fills up). */
const TARGET_CACHE_SIZE = 1024;

/**
 * One attempt, as an undici dispatch handler: collects at most `maxBytes` of the response and settles once
 * with a SendResult. Its deadline (from dispatch to the end of the body) aborts the request.
 */
class Attempt implements Dispatcher.DispatchHandler, Expirable {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: Record<string, string> = {};
  #chunks: Buffer[] | undefined;
  #first: Buffer | undefined;
  #size = 0;
  #done = false;
  deadline: DeadlineHandle | undefined;

  constructor(
    readonly timeoutMs: number,
    readonly maxBytes: number,
    readonly settle: (r: SendResult) => void,
  ) {}

  #finish(r: SendResult): void {
    if (this.#done) return;
    this.#done = true;
    this.deadline?.cancel();
    this.settle(r);
  }

  /** The deadline passed: answer `timeout` now and abort the request (at once, or when it leaves the pool queue). */
  expire(): void {
    if (this.#done) return;
    this.#finish(TIMEOUT);
    this.#controller?.abort(new AttemptTimeout(this.timeoutMs));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.#done) controller.abort(new AttemptTimeout(this.timeoutMs));
    else this.#controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode;
    this.#headers = flattenHeaders(headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return;
    if (this.#size + chunk.length > this.maxBytes) {
      this.#push(chunk.subarray(0, this.maxBytes - this.#size));
      this.#finish({ kind: 'response', status: this.#status, headers: this.#headers, body: this.#body(), truncated: true });
      controller.abort(new ResponseTooLarge(this.maxBytes));
      return;
    }
    this.#push(chunk);
  }

  #push(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#first === undefined) this.#first = chunk;
    else (this.#chunks ??= [this.#first]).push(chunk);
  }

  #body(): Buffer {
    if (this.#chunks !== undefined) return Buffer.concat(this.#chunks, this.#size);
    return this.#first ?? EMPTY;
  }

  onResponseEnd(): void {
    this.#finish({ kind: 'response', status: this.#status, headers: this.#headers, body: this.#body(), truncated: false });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#done) return;
    const code = errorCode(err) ?? '';
    if (TIMEOUT_CODES.has(code)) this.#finish(TIMEOUT);
    // undici refuses the request before sending it (a header value HTTP does not allow): retrying cannot help.
    else if (code === INVALID_ARG) this.#finish({ kind: 'unsendable', error: new Error(`the event cannot be written as an HTTP request: ${err.message}`, { cause: err }) });
    else this.#finish({ kind: 'network-error', error: err instanceof Error ? err : new Error(String(err)) });
  }
}

export class HttpSender implements Sender {
  readonly #agent: Agent;
  readonly #maxBytes: number;
  readonly #deadlines = new Deadlines(systemClock);
  readonly #targets = new Map<string, Target>();
  readonly #route: HttpSenderOptions['route'];

  constructor(opts: HttpSenderOptions = {}) {
    this.#maxBytes = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.#route = opts.route;
    this.#agent = new Agent({
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
      connections: opts.connectionsPerOrigin ?? 100,
      connect: { lookup: loopbackAwareLookup },
    });
  }

  #target(url: string): Target {
    let t = this.#targets.get(url);
    if (t === undefined) {
      t = parseTarget(url);
      if (this.#targets.size >= TARGET_CACHE_SIZE) this.#targets.clear();
      this.#targets.set(url, t);
    }
    return t;
  }

  send(url: string, event: CloudEvent<unknown>, opts: SendOptions): Promise<SendResult> {
    const target = this.#target(url);
    if ('error' in target) return Promise.resolve({ kind: 'network-error', error: target.error });
    let message: DeliveryMessage;
    try {
      message = deliveryMessage(event);
    } catch (err) {
      return Promise.resolve({ kind: 'unsendable', error: new Error(`the event cannot be written as an HTTP request: ${err instanceof Error ? err.message : String(err)}`, { cause: err }) });
    }
    let headers = opts.preferReply === true ? message.replyHeaders : message.headers;
    let origin = target.origin;
    const routed = this.#route?.(origin);
    if (routed !== undefined) {
      if ('error' in routed) return Promise.resolve({ kind: 'network-error', error: new Error(routed.error) });
      headers = [...headers, 'host', target.host];
      origin = routed.origin;
    }
    const timeoutMs = Math.max(1, opts.timeoutMs);
    return new Promise<SendResult>((resolve) => {
      const attempt = new Attempt(timeoutMs, this.#maxBytes, resolve);
      attempt.deadline = this.#deadlines.add(timeoutMs, attempt);
      try {
        // undici's own header/body timers stay as a backstop; the attempt's deadline is the lane's.
        this.#agent.dispatch(
          { origin, path: target.path, method: 'POST', headers: headers as string[], body: message.body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
          attempt,
        );
      } catch (err) {
        attempt.onResponseError(undefined as unknown as Dispatcher.DispatchController, err instanceof Error ? err : new Error(String(err)));
      }
    });
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
