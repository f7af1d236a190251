import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
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
  poolFor(dest: ReplicaEndpoint): Dispatcher;
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
export class ProxyCall implements Dispatcher.DispatchHandler, ThrottledRequest {
  /** Status sent to the client (0 until the response started). */
  status = 0;
  replica = '';
  /** The held replica slot, while dispatched. */
  lease: Lease | undefined;
  /** The queue entry, while waiting for a replica. */
  queued: QueuedRequest | undefined;
  #controller: Controller | undefined;
  #aborted = false;
  #settled = false;
  #coldMs = -1;
  #timeoutMs = 0;
  #paused = false;

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
    try {
      this.owner.poolFor(dest).dispatch(
        {
          path: this.path,
          method: this.method,
          headers: this.headers,
          body: this.hasBody ? this.req : null,
          headersTimeout: remainingMs,
          bodyTimeout: remainingMs,
        },
        this,
      );
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
    this.res.end();
    if (this.#settled) return;
    this.#settled = true;
    this.owner.finished(this, undefined);
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.#fail(err);
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

/** Keep-alive connection pools, one per replica address. */
export class ReplicaPools {
  readonly #pools = new Map<string, Pool>();
  readonly #keepAlive: number;
  readonly #connectTimeout: number;

  constructor(opts: ProxyOptions = {}) {
    this.#keepAlive = opts.keepAliveTimeoutMs ?? 4000;
    this.#connectTimeout = opts.connectTimeoutMs ?? 5000;
  }

  get(dest: ReplicaEndpoint): Pool {
    const addr = addressOf(dest);
    let pool = this.#pools.get(addr);
    if (pool === undefined) {
      pool = new Pool(`http://${addr}`, {
        connections: null,
        pipelining: 1,
        keepAliveTimeout: this.#keepAlive,
        keepAliveMaxTimeout: this.#keepAlive * 4,
        connect: { timeout: this.#connectTimeout },
      });
      // Connection errors surface on the request; this keeps a pool-level error from going unhandled.
      pool.on('connectionError', () => {});
      this.#pools.set(addr, pool);
    }
    return pool;
  }

  /** Closes (gracefully) the pools of addresses not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const [addr, pool] of this.#pools) {
      if (live.has(addr)) continue;
      this.#pools.delete(addr);
      pool.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => {})));
  }
}

export function addressOf(dest: ReplicaEndpoint): string {
  return dest.host.includes(':') ? `[${dest.host}]:${dest.port}` : `${dest.host}:${dest.port}`;
}
