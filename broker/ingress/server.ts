/**
 * The broker ingress: `POST /<namespace>/<broker>` with CloudEvents (binary, structured, batched; 1.0 and
 * 0.3). Answers 202 once the backend stored every event. Errors become HTTP statuses only in this file's
 * Fastify error handler; every error body is JSON `{ "error": "<reason>" }`.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginCallback, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Clock } from '../../src/clock.js';
import type { BrokerRef, EventBackend } from '../types.js';
import { BrokerError, BrokerNotFoundError, InvalidIngressConfigError, isRetriable, MethodNotAllowedError, PayloadTooLargeError, UnsupportedMediaTypeError, type BrokerErrorCode } from '../errors.js';
import { IngressMetrics, type RejectReason } from './metrics.js';
import { parseMessage } from './parse.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Events up to this size must always pass, so the limit cannot be set below it. */
export const MIN_MAX_BODY_BYTES = 64 * 1024;
export const ALLOW = 'POST, OPTIONS';
export const ARRIVAL_TIME_EXTENSION = 'knativearrivaltime';

export type BrokerLookup = (namespace: string, name: string) => { broker: BrokerRef; backend: EventBackend } | undefined;

export interface BrokerIngressPluginOptions {
  lookup: BrokerLookup;
  clock: Clock;
  registry: Registry;
  /** Largest accepted request body (default 1 MiB, at least 64 KiB). */
  maxBodyBytes?: number;
}

export interface BrokerIngressOptions extends BrokerIngressPluginOptions {
  /** Fastify's request logging (default off). */
  logger?: boolean;
}

interface Params {
  namespace: string;
  broker: string;
}

const REASONS: Partial<Record<BrokerErrorCode, RejectReason>> = {
  WISP_ERR_BROKER_NOT_FOUND: 'not_found',
  WISP_ERR_INVALID_EVENT: 'invalid',
  WISP_ERR_UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  WISP_ERR_PAYLOAD_TOO_LARGE: 'too_large',
  WISP_ERR_METHOD_NOT_ALLOWED: 'method_not_allowed',
};

const errorBody = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } as const;
const paramsSchema = {
  type: 'object',
  properties: { namespace: { type: 'string', minLength: 1 }, broker: { type: 'string', minLength: 1 } },
  required: ['namespace', 'broker'],
} as const;

export function resolveMaxBodyBytes(v: number | undefined): number {
  const n = v ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(n) || n < MIN_MAX_BODY_BYTES) {
    throw new InvalidIngressConfigError(`broker ingress: maxBodyBytes must be an integer of at least ${MIN_MAX_BODY_BYTES} (64 KiB events always pass), got ${n}`);
  }
  return n;
}

/** The ingress routes as an encapsulated Fastify plugin (its own body parser and error handler). */
export const brokerIngressPlugin: FastifyPluginCallback<BrokerIngressPluginOptions> = (app, opts, done) => {
  const maxBodyBytes = resolveMaxBodyBytes(opts.maxBodyBytes);
  const metrics = new IngressMetrics(opts.registry);
  const { clock, lookup } = opts;
  const brokerLabel = (req: FastifyRequest): string => {
    const p = req.params as Partial<Params> | undefined;
    return p?.namespace !== undefined && p.broker !== undefined ? `${p.namespace}/${p.broker}` : '';
  };

  // Every content type is data (binary mode) or a CloudEvents format; the body stays raw bytes here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, next) => next(null, body));

  // Fastify times every request from routing to the response's end (reply.elapsedTime): one synchronous hook
  // reads it. It is a measurement of real time, so it is not taken from the injected clock.
  app.addHook('onResponse', (req, reply, done) => {
    const broker = brokerLabel(req);
    if (broker !== '') metrics.observe(broker, Math.max(0, reply.elapsedTime) / 1000);
    done();
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const { status, reason, message } = classify(err, maxBodyBytes, req.headers['content-type']);
    metrics.rejected.labels(brokerLabel(req), reason).inc();
    if (status >= 500 && reason !== 'unavailable') req.log.error({ err }, 'broker ingress error');
    if (reason === 'unavailable') void reply.header('Retry-After', '1');
    if (reason === 'method_not_allowed') void reply.header('Allow', ALLOW);
    void reply.code(status).type('application/json; charset=utf-8').send({ error: message });
  });

  const schema = { params: paramsSchema, response: { '4xx': errorBody, '5xx': errorBody } };

  app.post<{ Params: Params }>('/:namespace/:broker', { schema, bodyLimit: maxBodyBytes }, async (req, reply) => {
    const { namespace, broker } = req.params;
    const target = lookup(namespace, broker);
    if (target === undefined) throw new BrokerNotFoundError(namespace, broker);
    const body = req.body instanceof Uint8Array ? req.body : undefined;
    const events = parseMessage({ headers: req.headers, body }, { [ARRIVAL_TIME_EXTENSION]: new Date(clock.now()).toISOString() });
    for (const event of events) await target.backend.publish(target.broker, event);
    if (events.length > 0) metrics.accept(`${namespace}/${broker}`, events.length);
    return reply.code(202).send();
  });

  app.options<{ Params: Params }>('/:namespace/:broker', { schema }, async (_req, reply) =>
    // Knative answers the CloudEvents WebHook abuse-protection handshake on OPTIONS.
    reply.code(200).headers({ Allow: ALLOW, 'WebHook-Allowed-Origin': '*', 'WebHook-Allowed-Rate': '*' }).send(),
  );

  app.route<{ Params: Params }>({
    method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'],
    url: '/:namespace/:broker',
    schema,
    exposeHeadRoute: false,
    bodyLimit: maxBodyBytes,
    handler: async (req) => {
      throw new MethodNotAllowedError(req.method);
    },
  });
  done();
};

function classify(err: FastifyError | Error, maxBodyBytes: number, contentType: string | undefined): { status: number; reason: RejectReason; message: string } {
  if (err instanceof BrokerError) {
    const reason = err.retriable && err.statusCode === 503 ? 'unavailable' : (REASONS[err.code] ?? 'internal');
    return { status: err.statusCode, reason, message: err.message };
  }
  const code = 'code' in err ? err.code : undefined;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, reason: 'too_large', message: new PayloadTooLargeError(maxBodyBytes).message };
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, reason: 'unsupported_media_type', message: new UnsupportedMediaTypeError(contentType ?? '').message };
  if (isRetriable(err)) return { status: 503, reason: 'unavailable', message: `the broker cannot store events right now: ${err.message}` };
  const statusCode = 'statusCode' in err ? err.statusCode : undefined;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return { status: statusCode, reason: 'invalid', message: err.message };
  return { status: 500, reason: 'internal', message: `internal error: ${err.message}` };
}

/** A standalone ingress server: the plugin at the root, JSON 404s for any other path. */
export function buildBrokerIngress(opts: BrokerIngressOptions): FastifyInstance {
  resolveMaxBodyBytes(opts.maxBodyBytes);
  const app = Fastify({
    logger: opts.logger ?? false,
    // Router-level errors (a URL that cannot be decoded, a bad header) get the same `{ error }` body.
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void reply.code(status).type('application/json; charset=utf-8').send({ error: err.message });
    },
  });
  void app.register(brokerIngressPlugin, { lookup: opts.lookup, clock: opts.clock, registry: opts.registry, ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }) });
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    void reply.code(404).type('application/json; charset=utf-8').send({ error: `no broker at ${req.url}: POST events to /<namespace>/<broker>` });
  });
  return app;
}
