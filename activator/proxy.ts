import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Client as UndiciClient, Dispatcher } from 'undici';
import { Client } from '../core/undici.js';
import type { ReplicaEndpoint } from '../src/runtime/types.js';
import { RequestAbortedError, ResponseTimeoutError, UpstreamError } from './errors.js';
import { responseHeaderList } from './headers.js';
import type { Lease, QueuedRequest, ThrottledRequest } from './throttler.js';

type Controller = Dispatcher.DispatchController;
type ResponseHeaders = Record<string, string | string[] | undefined>;

export const COLD_START_HEADER = 'x-wisp-cold-start';

/** What a ProxyCall needs from the activator (one shared object, no per-request closures). */
export interface CallOwner {
  /** The connection pool for a replica. */
  poolFor(dest: ReplicaEndpoint): ReplicaPool;
  /** The request waited `coldMs` for a revision with no ready replica. */
  coldStart(call: ProxyCall, coldMs: number): void;
  /** Called exactly once per call: `err` undefined when the response was fully handed to the client. */
  finished(call: ProxyCall, err: unknown): void;
  /** The client went away: cancel the queued request or abort the upstream exchange. */
  cancel(call: ProxyCall): void;
}

/**
 * One proxied request: the throttler's callback target and the undici dispatch handler that streams the
 * replica's response into `res`. Settles (owner.finished) once, when the response has been fully written
 * or the exchange failed.
 */
export class ProxyCall implements Dispatcher.DispatchHandler, Dispatcher.DispatchOptions, ThrottledRequest {
  /** Status sent to the client (0 until the response started). */
  status = 0;
  replica = '';
  /** The held replica slot, while dispatched. */
  lease: Lease | undefined;
  /** The queue entry, while waiting for a replica. */
  queued: QueuedRequest | undefined;
  // The call is its own undici dispatch options (path, method, headers above; body and timeouts set on start): one
  // object per request instead of two.
  body: IncomingMessage | null = null;
  headersTimeout = 0;
  bodyTimeout = 0;
  #controller: Controller | undefined;
  #pool: ReplicaPool | undefined;
  #client: Client | undefined;
  #aborted = false;
  #settled = false;
  #coldMs = -1;
  #timeoutMs = 0;
  #paused = false;
  /** The body length the replica announced (Content-Length), -1 when it did not. */
  #length = -1;
  /** Body bytes passed on so far. */
  #sent = 0;
  /** `res.end` was called with the whole body. */
  #ended = false;

  constructor(
    readonly owner: CallOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly revision: string,
    readonly method: string,
    readonly path: string,
    readonly headers: string[],
    readonly hasBody: boolean,
    /** performance.now() at arrival. */
    readonly t0: number,
  ) {}

  /** Client went away: stop the upstream exchange. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#controller?.abort(new RequestAbortedError(this.revision));
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** ThrottledRequest: a replica slot is held. */
  start(lease: Lease, remainingMs: number, coldMs: number): void {
    this.queued = undefined;
    this.lease = lease;
    const dest = lease.endpoint;
    this.replica = dest.id;
    this.#coldMs = coldMs;
    this.#timeoutMs = remainingMs;
    if (coldMs >= 0) this.owner.coldStart(this, coldMs);
    if (this.#aborted) return this.#fail(new RequestAbortedError(this.revision));
    this.body = this.hasBody ? this.req : null;
    this.headersTimeout = remainingMs;
    this.bodyTimeout = remainingMs;
    try {
      const pool = this.owner.poolFor(dest);
      this.#pool = pool;
      this.#client = pool.acquire();
      // undici reports dispatch errors through onResponseError.
      this.#client.dispatch(this, this);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** ThrottledRequest: never dispatched. */
  reject(err: unknown): void {
    this.queued = undefined;
    if (this.#settled) return;
    this.#settled = true;
    this.owner.finished(this, err);
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#aborted) controller.abort(new RequestAbortedError(this.revision));
  }

  onResponseStart(controller: Controller, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    const res = this.res;
    if (this.#aborted || res.destroyed) {
      controller.abort(new RequestAbortedError(this.revision));
      return;
    }
    const length = headers['content-length'];
    this.#length = typeof length === 'string' ? Number(length) : -1;
    const list = responseHeaderList(headers, COLD_START_HEADER, this.#coldMs >= 0 ? String(Math.round(this.#coldMs)) : undefined);
    try {
      if (statusMessage) res.writeHead(statusCode, statusMessage, list);
      else res.writeHead(statusCode, list);
      this.status = statusCode;
    } catch (err) {
      controller.abort(new UpstreamError(this.revision, this.replica, { cause: err }));
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#sent === 0 && chunk.length === this.#length) {
      // The whole body in one chunk (a small response): head and body leave in one end(), without the cork and the
      // uncork tick that write() then end() cost.
      this.#ended = true;
      this.#sent = chunk.length;
      this.res.end(chunk);
      return;
    }
    this.#sent += chunk.length;
    if (this.res.write(chunk)) return;
    if (this.#paused) return;
    this.#paused = true;
    controller.pause();
    this.res.once('drain', () => {
      this.#paused = false;
      controller.resume();
    });
  }

  onResponseEnd(): void {
    this.#releaseClient();
    if (!this.#ended) this.res.end();
    if (this.#settled) return;
    this.#settled = true;
    this.owner.finished(this, undefined);
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.#releaseClient();
    this.#fail(err);
  }

  /** The exchange on the connection is over (undici resets a failed connection before its next request). */
  #releaseClient(): void {
    const client = this.#client;
    if (client === undefined) return;
    this.#client = undefined;
    this.#pool?.release(client);
  }

  #fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.owner.finished(this, this.#mapError(err));
  }

  #mapError(err: unknown): unknown {
    if (err instanceof RequestAbortedError || err instanceof UpstreamError) return err;
    if (this.#aborted) return new RequestAbortedError(this.revision);
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return new ResponseTimeoutError(this.revision, this.#timeoutMs, { cause: err });
    return new UpstreamError(this.revision, this.replica, { cause: err });
  }
}

export interface ProxyOptions {
  /** Idle keep-alive sockets are closed after this long (ms). Default 4000 (below Node's 5 s server default). */
  keepAliveTimeoutMs?: number;
  /** TCP connect timeout to a replica (ms). Default 5000. */
  connectTimeoutMs?: number;
}

/**
 * Keep-alive connections to one replica: an undici Client per connection (pipelining 1), the idle ones on a stack.
 * A request takes the most recently used idle connection in O(1) and gives it back when its exchange ends. undici's
 * Pool does the same job with a scan of its clients for a free one and a `drain` event per response, work the
 * activator's CPU profile showed on every request; the connection count is unbounded as with
 * `Pool({ connections: null })`: the throttler's breakers bound the concurrency per replica.
 */
export class ReplicaPool {
  readonly #origin: string;
  readonly #opts: UndiciClient.Options;
  readonly #idle: Client[] = [];
  readonly #all = new Set<Client>();
  #closed = false;

  constructor(origin: string, opts: UndiciClient.Options) {
    this.#origin = origin;
    this.#opts = opts;
  }

  /** A connection for one exchange; give it back with `release` when the exchange ends. */
  acquire(): Client {
    for (;;) {
      const idle = this.#idle.pop();
      if (idle === undefined) break;
      if (!idle.destroyed && !idle.closed) return idle;
      this.#all.delete(idle);
    }
    const client = new Client(this.#origin, this.#opts);
    // A client whose connection failed or closed (the keep-alive timeout, the replica going away) is retired, as
    // undici's Pool retires one after a connection error: no reuse of a failed client, and no idle clients
    // accumulating after a burst. Connection errors themselves surface on the request.
    const retire = (): void => this.#retire(client);
    client.on('connectionError', retire);
    client.on('disconnect', retire);
    if (!this.#closed) this.#all.add(client);
    return client;
  }

  #retire(client: Client): void {
    if (!this.#all.delete(client)) return;
    const at = this.#idle.lastIndexOf(client);
    if (at >= 0) this.#idle.splice(at, 1);
    // Lets an exchange in progress on it finish; release() then drops it.
    if (!client.closed && !client.destroyed) client.close().catch(ignore);
  }

  release(client: Client): void {
    if (this.#closed || client.destroyed || client.closed) {
      this.#all.delete(client);
      if (this.#closed && !client.destroyed) client.close().catch(ignore);
      return;
    }
    this.#idle.push(client);
  }

  /** Lets exchanges in progress finish, then closes every connection. */
  close(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    const all = [...this.#all];
    this.#all.clear();
    return Promise.all(all.map((c) => c.close().catch(ignore))).then(ignore);
  }

  /** Closes every connection now; exchanges in progress fail. */
  destroy(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    const all = [...this.#all];
    this.#all.clear();
    return Promise.all(all.map((c) => c.destroy().catch(ignore))).then(ignore);
  }
}

function ignore(): void {}

/** Keep-alive connection pools, one per replica address. */
export class ReplicaPools {
  readonly #pools = new Map<string, ReplicaPool>();
  readonly #opts: UndiciClient.Options;

  constructor(opts: ProxyOptions = {}) {
    const keepAlive = opts.keepAliveTimeoutMs ?? 4000;
    this.#opts = {
      pipelining: 1,
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: keepAlive * 4,
      connect: { timeout: opts.connectTimeoutMs ?? 5000 },
    };
  }

  get(dest: ReplicaEndpoint): ReplicaPool {
    const addr = addressOf(dest);
    let pool = this.#pools.get(addr);
    if (pool === undefined) {
      pool = new ReplicaPool(`http://${addr}`, this.#opts);
      this.#pools.set(addr, pool);
    }
    return pool;
  }

  /** Closes (gracefully) the pools of addresses not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const [addr, pool] of this.#pools) {
      if (live.has(addr)) continue;
      this.#pools.delete(addr);
      void pool.close();
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }
}

export function addressOf(dest: ReplicaEndpoint): string {
  return dest.host.includes(':') ? `[${dest.host}]:${dest.port}` : `${dest.host}:${dest.port}`;
}
