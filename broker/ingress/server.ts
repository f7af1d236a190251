/**
 * The broker ingress: `POST /<namespace>/<broker>` with CloudEvents (binary, structured, batched; 1.0 and
 * 0.3). Answers 202 once the backend stored every event. Every error body is JSON `{ "error": "<reason>" }`.
 *
 * Why node:http and not Fastify (which serves the control API): the ingress is one route on the data plane's hot
 * path, like Knative's broker ingress (a plain Go http.Handler). Measured in isolation on the same machine,
 * Fastify's routing, hooks and reply pipeline cost about 30 µs of CPU per request on top of node:http's 52 µs,
 * before any CloudEvents work; this file does the little routing the ingress needs itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { guardHttpServer, jsonErrorBody, type HttpLimitsInput } from '../../core/index.js';
import type { Clock, Timer } from '../../src/clock.js';
import type { BrokerRef, EventBackend } from '../types.js';
import { BrokerError, BrokerNotFoundError, InvalidIngressConfigError, isRetriable, MethodNotAllowedError, PayloadTooLargeError, type BrokerErrorCode } from '../errors.js';
import { IngressMetrics, type RejectReason } from './metrics.js';
import { parseMessage } from './parse.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Events up to this size must always pass, so the limit cannot be set below it. */
export const MIN_MAX_BODY_BYTES = 64 * 1024;
export const ALLOW = 'POST, OPTIONS';
export const ARRIVAL_TIME_EXTENSION = 'knativearrivaltime';
/** Producers keep their connections between events (Fastify's default, which this ingress used to run on). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** How long close() lets requests in progress finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5_000;

export type BrokerLookup = (namespace: string, name: string) => { broker: BrokerRef; backend: EventBackend } | undefined;

export interface BrokerIngressOptions {
  lookup: BrokerLookup;
  clock: Clock;
  registry: Registry;
  /** Largest accepted request body (default 1 MiB, at least 64 KiB). */
  maxBodyBytes?: number;
  /** Internal errors (a 500): what failed. Default: nothing logged. */
  onError?: (err: unknown) => void;
  /** Connection caps per port and per client address, and the header timeout. Default: core's HTTP_LIMITS_DEFAULTS. */
  connectionLimits?: HttpLimitsInput;
}

/** The ingress: an HTTP server and its request listener. */
export interface BrokerIngress {
  readonly server: Server;
  /** The request listener (tests drive it without a socket). */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  listen(opts: { port: number; host: string }): Promise<void>;
  /** Stops accepting, lets requests in progress finish (bounded), closes every connection. */
  close(): Promise<void>;
}

const REASONS: Partial<Record<BrokerErrorCode, RejectReason>> = {
  WISP_ERR_BROKER_NOT_FOUND: 'not_found',
  WISP_ERR_INVALID_EVENT: 'invalid',
  WISP_ERR_UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  WISP_ERR_PAYLOAD_TOO_LARGE: 'too_large',
  WISP_ERR_METHOD_NOT_ALLOWED: 'method_not_allowed',
  WISP_ERR_BACKEND_FULL: 'backlog_full',
  WISP_ERR_BATCH_TOO_LARGE: 'batch_too_large',
};

const JSON_TYPE = 'application/json; charset=utf-8';
/** The 202's headers: the same object for every answer (node:http only reads it). */
const ACCEPTED_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-length': '0' });
/** Request paths seen (few: one per broker), with their route; bounded, cleared when full. */
const ROUTE_CACHE_SIZE = 1024;

export function resolveMaxBodyBytes(v: number | undefined): number {
  const n = v ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(n) || n < MIN_MAX_BODY_BYTES) {
    throw new InvalidIngressConfigError(`broker ingress: maxBodyBytes must be an integer of at least ${MIN_MAX_BODY_BYTES} (64 KiB events always pass), got ${n}`);
  }
  return n;
}

/** `/<namespace>/<broker>` (query ignored) → its decoded parts; `undefined` for any other path. */
export function routeOf(url: string): { namespace: string; broker: string } | { badUrl: string } | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const parts = path.split('/');
  if (parts.length !== 3 || parts[0] !== '' || parts[1] === '' || parts[2] === '') return undefined;
  try {
    return { namespace: decodeURIComponent(parts[1] ?? ''), broker: decodeURIComponent(parts[2] ?? '') };
  } catch {
    return { badUrl: `invalid URL "${path}": malformed percent-encoding` };
  }
}

/** An error's status, metric reason and message. Pure. */
export function classify(err: unknown): { status: number; reason: RejectReason; message: string } {
  if (err instanceof BrokerError) {
    const reason = REASONS[err.code] ?? (err.retriable && err.statusCode === 503 ? 'unavailable' : 'internal');
    return { status: err.statusCode, reason, message: err.message };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (isRetriable(err)) return { status: 503, reason: 'unavailable', message: `the broker cannot store events right now: ${message}` };
  return { status: 500, reason: 'internal', message: `internal error: ${message}` };
}

export function buildBrokerIngress(opts: BrokerIngressOptions): BrokerIngress {
  const maxBodyBytes = resolveMaxBodyBytes(opts.maxBodyBytes);
  const metrics = new IngressMetrics(opts.registry);
  const { clock, lookup } = opts;
  const routes = new Map<string, ReturnType<typeof routeOf>>();
  const route = (url: string): ReturnType<typeof routeOf> => {
    let r = routes.get(url);
    if (r === undefined && !routes.has(url)) {
      r = routeOf(url);
      if (routes.size >= ROUTE_CACHE_SIZE) routes.clear();
      routes.set(url, r);
    }
    return r;
  };
  // knativearrivaltime in ms resolution: the ISO string is made once per millisecond, not per event.
  let stampMs = NaN;
  let stampValue: Readonly<Record<string, string>> = {};
  const arrivalStamp = (): Readonly<Record<string, string>> => {
    const now = clock.now();
    if (now !== stampMs) {
      stampMs = now;
      stampValue = Object.freeze({ [ARRIVAL_TIME_EXTENSION]: new Date(now).toISOString() });
    }
    return stampValue;
  };

  /** Ends `res` and, for a request to a broker path, observes its latency (a measurement of real time). */
  const finish = (res: ServerResponse, broker: string, t0: number, status: number, headers: Readonly<Record<string, string>>, body?: string): void => {
    res.writeHead(status, headers);
    res.end(body);
    if (broker !== '') metrics.observe(broker, (performance.now() - t0) / 1000);
  };

  const fail = (res: ServerResponse, broker: string, t0: number, err: unknown): void => {
    const { status, reason, message } = classify(err);
    if (broker !== '') metrics.rejected.labels(broker, reason).inc();
    if (reason === 'internal') opts.onError?.(err);
    const body = JSON.stringify({ error: message });
    const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(body)) };
    if (status === 503) headers['retry-after'] = '1';
    if (reason === 'method_not_allowed') headers['allow'] = ALLOW;
    if (reason === 'too_large') headers['connection'] = 'close';
    if (res.headersSent || res.destroyed) return;
    finish(res, broker, t0, status, headers, body);
  };

  const accept = async (req: IncomingMessage, body: Buffer, namespace: string, name: string): Promise<number> => {
    const target = lookup(namespace, name);
    if (target === undefined) throw new BrokerNotFoundError(namespace, name);
    const events = parseMessage({ headers: req.headers, body }, arrivalStamp());
    // A batch is stored whole or not at all: the backend checks room for every event before storing any, so a
    // producer that retries a 503'd batch (as Retry-After asks) creates no duplicates of a part of it.
    if (events.length === 1) await target.backend.publish(target.broker, events[0] as (typeof events)[number]);
    else if (events.length > 1) await target.backend.publishBatch(target.broker, events);
    return events.length;
  };

  const post = (req: IncomingMessage, res: ServerResponse, namespace: string, name: string, broker: string, t0: number): void => {
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) {
      fail(res, broker, t0, new PayloadTooLargeError(maxBodyBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        tooLarge = true;
        chunks.length = 0;
        fail(res, broker, t0, new PayloadTooLargeError(maxBodyBytes));
        return;
      }
      chunks.push(chunk);
    });
    // A client that goes away mid-body gets no answer; nothing was stored.
    req.on('error', () => undefined);
    req.on('end', () => {
      if (tooLarge) return;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      accept(req, body, namespace, name).then(
        (n) => {
          if (n > 0) metrics.accept(broker, n);
          finish(res, broker, t0, 202, ACCEPTED_HEADERS);
        },
        (err: unknown) => fail(res, broker, t0, err),
      );
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const url = req.url ?? '/';
    const found = route(url);
    if (found === undefined || 'badUrl' in found) {
      const status = found === undefined ? 404 : 400;
      const body = JSON.stringify({ error: found === undefined ? `no broker at ${url}: POST events to /<namespace>/<broker>` : found.badUrl });
      req.resume();
      finish(res, '', t0, status, { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(body)) }, body);
      return;
    }
    const broker = `${found.namespace}/${found.broker}`;
    switch (req.method) {
      case 'POST':
        post(req, res, found.namespace, found.broker, broker, t0);
        return;
      case 'OPTIONS':
        // Knative answers the CloudEvents WebHook abuse-protection handshake on OPTIONS.
        req.resume();
        finish(res, broker, t0, 200, { allow: ALLOW, 'webhook-allowed-origin': '*', 'webhook-allowed-rate': '*', 'content-length': '0' });
        return;
      default:
        req.resume();
        fail(res, broker, t0, new MethodNotAllowedError(req.method ?? ''));
    }
  };

  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, handle);
  // Caps connections per port and per client, times out slow request heads (408), and answers an oversized head
  // (431), a malformed one (400) and an HTTP/1.1 request without Host (400) with `{"error": "<reason>"}`, never a crash.
  guardHttpServer(server, { ...opts.connectionLimits, errorBody: jsonErrorBody });

  let closing: Promise<void> | undefined;
  return {
    server,
    handle,
    listen: ({ port, host }) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        let cut: Timer | undefined;
        server.close(() => {
          cut?.cancel();
          resolve();
        });
        server.closeIdleConnections();
        cut = clock.setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      })),
  };
}
