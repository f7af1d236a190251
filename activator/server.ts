import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { guardHttpServer, textErrorBody, type HttpLimitsInput } from '../core/index.js';
import type { Clock, Timer } from '../src/clock.js';
import { ConcurrencyAccounting } from './concurrency.js';
import { ActivatorError, QueueFullError, RequestAbortedError, ShuttingDownError } from './errors.js';
import { upstreamRequestHead, type UpstreamRequestHead } from './headers.js';
import { ActivatorMetrics } from './metrics.js';
import { addressOf, ProxyCall, ReplicaPools, type CallOwner } from './proxy.js';
import { Router, unknownHostMessage } from './router.js';
import { assignedEndpoints, SOLE_ACTIVATOR, type ActivatorShare } from './subset.js';
import { Throttler } from './throttler.js';
import type { ConcurrencyReporter, RevisionState, RoutingSnapshot } from './types.js';

export const REPORT_INTERVAL_MS = 1000;

export interface ActivatorOptions {
  clock: Clock;
  reporter: ConcurrencyReporter;
  registry: Registry;
  /** Requests that may wait per revision. Default 10 000. */
  queueDepth?: number;
  /** Random source for traffic splits and power-of-two-choices. Default Math.random. */
  random?: () => number;
  logger?: { warn(msg: string): void };
  /** How long close() lets in-flight requests finish before cutting connections (ms). Default 30 000. */
  drainTimeoutMs?: number;
  /** Connection caps per port and per client address, and the header timeout. Default: core's HTTP_LIMITS_DEFAULTS. */
  connectionLimits?: HttpLimitsInput;
}

/**
 * The Service ingress data path: Host → route → revision → throttler → replica, over node:http (server)
 * and undici pools (replicas). Errors become status codes only here.
 */
export class Activator {
  readonly #clock: Clock;
  readonly #reporter: ConcurrencyReporter;
  readonly #logger: { warn(msg: string): void };
  readonly #router: Router;
  readonly #throttler: Throttler;
  readonly #accounting: ConcurrencyAccounting;
  readonly #metrics: ActivatorMetrics;
  readonly #pools = new ReplicaPools();
  readonly #states = new Map<string, RevisionState>();
  readonly #drainTimeoutMs: number;
  readonly #connectionLimits: HttpLimitsInput;
  readonly #reportTimer: Timer;
  #server: Server | undefined;
  #share: ActivatorShare = SOLE_ACTIVATOR;
  #active = 0;
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(opts: ActivatorOptions) {
    this.#clock = opts.clock;
    this.#reporter = opts.reporter;
    this.#logger = opts.logger ?? { warn: () => {} };
    const random = opts.random ?? Math.random;
    this.#router = new Router({ random });
    this.#throttler = new Throttler({
      clock: opts.clock,
      random,
      ...(opts.queueDepth === undefined ? {} : { queueDepth: opts.queueDepth }),
      onColdStart: (key) => this.#poke(key),
    });
    this.#accounting = new ConcurrencyAccounting(opts.clock.now());
    const throttler = this.#throttler;
    this.#metrics = new ActivatorMetrics(opts.registry, {
      revisions: () => throttler.keys(),
      queued: (k) => throttler.queued(k),
      inFlight: (k) => throttler.inFlight(k),
      readyReplicas: (k) => throttler.readyReplicas(k),
    });
    this.#drainTimeoutMs = opts.drainTimeoutMs ?? 30_000;
    this.#connectionLimits = opts.connectionLimits ?? {};
    this.#reportTimer = opts.clock.setInterval(() => this.#report(), REPORT_INTERVAL_MS);
  }

  setRouting(snapshot: RoutingSnapshot): void {
    this.#router.setSnapshot(snapshot);
  }

  /** New endpoints / failure / settings for a revision; dispatches waiting requests. */
  upsertRevision(state: RevisionState): void {
    this.#states.set(state.key, state);
    this.#throttler.upsert(this.#assigned(state));
    this.#retainPools();
  }

  /**
   * This activator's place among several (a split install: the autoscaler tells each who reports). Revisions with a
   * concurrency limit are then sent to this activator's subset of their replicas only (subset.ts).
   */
  setShare(share: ActivatorShare): void {
    if (share.index === this.#share.index && share.count === this.#share.count) return;
    this.#share = share;
    for (const state of this.#states.values()) this.#throttler.upsert(this.#assigned(state));
  }

  #assigned(state: RevisionState): RevisionState {
    const endpoints = assignedEndpoints(state.endpoints, state.containerConcurrency, this.#share);
    return endpoints === state.endpoints ? state : { ...state, endpoints: [...endpoints] };
  }

  /** Forgets a revision; its waiting requests get 503. */
  removeRevision(key: string): void {
    this.#states.delete(key);
    this.#throttler.remove(key);
    this.#metrics.forget(key);
    this.#retainPools();
  }

  /** Requests the activator holds for a revision right now: queued plus proxied. */
  inFlight(key: string): number {
    return this.#accounting.current(key);
  }

  /** The node:http request handler. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    let head: UpstreamRequestHead;
    let path: string | undefined;
    try {
      head = upstreamRequestHead(req.rawHeaders, req.socket.remoteAddress, isEncrypted(req.socket) ? 'https' : 'http');
      path = pathOf(req.url);
    } catch (err) {
      this.#logger.warn(`activator: unreadable request: ${String(err)}`);
      return this.#plain(res, 400, 'bad request\n', '', t0);
    }
    if (path === undefined) return this.#plain(res, 400, `bad request target ${JSON.stringify((req.url ?? '').slice(0, 256))}\n`, '', t0);
    let entry = this.#router.resolve(head.host);
    if (entry === undefined) {
      // Not a Service host: a path-addressed request (`/<namespace>/<service>/...`, a Service's status.address.url).
      const byPath = this.#router.resolvePath(path);
      if (byPath === undefined) return this.#plain(res, 404, unknownHostMessage(head.host), '', t0);
      entry = byPath.entry;
      path = byPath.path;
      head.headers.push('x-forwarded-prefix', byPath.prefix);
    }
    const key = this.#router.pick(entry);
    if (key === undefined) {
      return this.#plain(res, 503, `Service ${entry.namespace}/${entry.service} has no revision receiving traffic\n`, '', t0);
    }
    if (this.#closing) return this.#fail(res, new ShuttingDownError(), key, t0, false);
    this.#accounting.arrive(key, this.#clock.now());
    this.#active++;
    const call = new ProxyCall(this.#owner, req, res, key, req.method ?? 'GET', path, head.headers, head.hasBody, t0);
    (res as CallResponse)[CALL] = call;
    // `close` fires once per response: `on` with the shared listener saves the wrapper `once` allocates.
    res.on('close', onResponseClose);
    const queued = this.#throttler.submit(key, call);
    if (queued !== undefined && !call.settled) call.queued = queued;
  };

  /** The one CallOwner every ProxyCall reports to. */
  readonly #owner: CallOwner = {
    poolFor: (dest) => this.#pools.get(dest),
    coldStart: (call, coldMs) => this.#metrics.observeColdStart(call.revision, coldMs),
    finished: (call, err) => {
      if (call.lease !== undefined) this.#throttler.release(call.lease, err !== undefined);
      if (err === undefined) return this.#done(call.revision, call.status, call.t0);
      this.#fail(call.res, err, call.revision, call.t0, call.status !== 0);
      this.#done(call.revision, -1, call.t0);
    },
    cancel: (call) => {
      if (call.queued !== undefined) this.#throttler.cancel(call.revision, call.queued);
      else call.abort();
    },
  };

  /** Starts the HTTP server (default host 127.0.0.1); resolves with the bound port. */
  listen(opts: { port: number; host?: string }): Promise<{ port: number }> {
    if (this.#server !== undefined) return Promise.reject(new Error('activator: already listening'));
    const server = createServer({ keepAliveTimeout: 5000, maxHeaderSize: 16 * 1024, optimizeEmptyRequests: true }, this.handle);
    // Caps connections per port and per client, times out slow request heads (408), and answers client errors
    // (431, 400) and HTTP/1.1 requests without Host (400) with their reason, as text like the activator's own errors.
    guardHttpServer(server, { ...this.#connectionLimits, errorBody: textErrorBody });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        const addr = server.address();
        resolve({ port: typeof addr === 'object' && addr !== null ? addr.port : opts.port });
      });
    });
  }

  /** Stops accepting, fails queued requests (503), lets in-flight ones finish (bounded), closes pools and the reporter loop. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#reportTimer.cancel();
    this.#throttler.close();
    const server = this.#server;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((r) => server.close(() => r()));
    server?.closeIdleConnections();
    if (this.#active > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(() => resolve(), this.#drainTimeoutMs);
        this.#drained = () => {
          timer.cancel();
          resolve();
        };
      });
    }
    server?.closeAllConnections();
    await closed;
    await this.#pools.close();
  }

  #done(key: string, status: number, t0: number): void {
    this.#accounting.depart(key, this.#clock.now());
    if (status > 0) this.#metrics.observeRequest(key, status, (performance.now() - t0) / 1000);
    if (--this.#active === 0 && this.#drained !== undefined) this.#drained();
  }

  #fail(res: ServerResponse, err: unknown, key: string, t0: number, started: boolean): void {
    if (err instanceof RequestAbortedError) {
      this.#metrics.observeRequest(key, 499, (performance.now() - t0) / 1000);
      res.destroy();
      return;
    }
    if (!(err instanceof ActivatorError)) this.#logger.warn(`activator: ${key}: unexpected error: ${String(err)}`);
    if (started || res.headersSent) {
      // The response already started: the only honest signal left is cutting the connection.
      this.#metrics.observeRequest(key, 502, (performance.now() - t0) / 1000);
      res.destroy();
      return;
    }
    const status = err instanceof ActivatorError ? err.statusCode : 502;
    const retryAfter = err instanceof QueueFullError || err instanceof ShuttingDownError;
    const message = err instanceof Error ? err.message : String(err);
    this.#plain(res, status, `${message}\n`, key, t0, retryAfter);
  }

  #plain(res: ServerResponse, status: number, body: string, key: string, t0: number, retryAfter = false): void {
    this.#metrics.observeRequest(key, status, (performance.now() - t0) / 1000);
    if (res.headersSent || res.destroyed) return void res.destroy();
    const headers: Record<string, string | number> = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    };
    if (retryAfter) headers['retry-after'] = '1';
    res.writeHead(status, headers);
    res.end(body);
  }

  #poke(key: string): void {
    try {
      this.#reporter.poke(key);
    } catch (err) {
      this.#logger.warn(`activator: poke ${key} failed: ${String(err)}`);
    }
  }

  #report(): void {
    const now = this.#clock.now();
    for (const s of this.#accounting.collect(now)) {
      try {
        this.#reporter.report(s.key, s.concurrency, now);
      } catch (err) {
        this.#logger.warn(`activator: report ${s.key} failed: ${String(err)}`);
      }
    }
    try {
      this.#reporter.flush?.();
    } catch (err) {
      this.#logger.warn(`activator: sending stats failed: ${String(err)}`);
    }
  }

  #retainPools(): void {
    const live = new Set<string>();
    for (const s of this.#states.values()) for (const ep of s.endpoints) live.add(addressOf(ep));
    this.#pools.retain(live);
  }
}

const CALL = Symbol('wisp.activator.call');
type CallResponse = ServerResponse & { [CALL]?: ProxyCall };

/** `close` on a response: the client went away before the response finished. */
function onResponseClose(this: ServerResponse): void {
  const call = (this as CallResponse)[CALL];
  if (call === undefined || this.writableFinished) return;
  call.owner.cancel(call);
}

function isEncrypted(socket: Socket): boolean {
  return (socket as Socket & { encrypted?: boolean }).encrypted === true;
}

/** Origin-form request target for the replica; undefined when it cannot be one. */
export function pathOf(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return '/';
  if (url.charCodeAt(0) === 47 /* / */) return url;
  if (url === '*') return '*';
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return undefined;
  }
}
