/**
 * The control API: Kubernetes-shaped paths over the store (get, list, watch, create, apply, delete), service logs,
 * health and metrics. Errors become Kubernetes `Status` objects only here, in the error handler.
 */
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { guardHttpServer, kubernetesStatusBody, type HttpLimitsInput } from '../../core/index.js';
import { KINDS, apiVersionOf, type KindInfo } from '../api/kinds.js';
import type { KObject } from '../api/types.js';
import type { LogLine } from '../runtime/types.js';
import { applyObject } from './apply.js';
import { parseJsonBody, parseYamlBody } from './body-parse.js';
import { UNAUTHENTICATED_PATHS, bearerFailureMessage, checkBearer, hostNotAllowedMessage, isLoopbackHost } from './auth.js';
import {
  AlreadyExistsError,
  BadRequestError,
  ControlError,
  HostNotAllowedError,
  InvalidError,
  MethodNotAllowedError,
  NotFoundError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors.js';
import type { ResourceStore } from './resource-store.js';

/** Where service logs come from (the workload runtime fits). */
export interface LogSource {
  logs(namespace: string, service: string): LogLine[];
  followLogs(namespace: string, service: string, listener: (line: LogLine) => void): () => void;
}

export interface ApiServerOptions {
  store: ResourceStore;
  /** Served at /metrics. */
  registry: Registry;
  logs?: LogSource;
  /** ContainerSources' process logs, by source name (served at `.../containersources/<name>/log`). */
  sourceLogs?: LogSource;
  /** /readyz answers 200 while this returns true; default always ready. */
  ready?: () => boolean;
  /** Every request but /healthz and /readyz must carry `Authorization: Bearer <token>`. */
  token: string;
  /**
   * `loopback` (default): refuse a request whose `Host` is not localhost, *.localhost, 127.0.0.0/8 or [::1] — right
   * for an API bound to loopback, where any other name means DNS rebinding. `any`: for an API bound to other interfaces.
   */
  allowedHosts?: 'loopback' | 'any';
  /** Connection caps per port and per client address, and the header timeout. Default: core's HTTP_LIMITS_DEFAULTS. */
  connectionLimits?: HttpLimitsInput;
  /**
   * What the store is, for the admission rules that differ by mode: `embedded` (default) or `kubernetes` (an API
   * server's objects: ApiServerSources of any kind, SinkBindings of Deployments and Jobs are accepted).
   */
  mode?: 'embedded' | 'kubernetes';
}

/** Kubernetes `Status` as the API returns it on failure. */
export interface KubeStatus {
  apiVersion: 'v1';
  kind: 'Status';
  status: 'Failure';
  message: string;
  reason: string;
  details: { name?: string; kind?: string; causes: { field: string; message: string }[] };
  code: number;
}

interface PathParams {
  group?: string;
  version: string;
  ns?: string;
  plural: string;
  name?: string;
}

const SERVICE_KIND = KINDS.find((k) => k.kind === 'Service' && k.group === 'serving.knative.dev') as KindInfo;
const CONTAINERSOURCE_KIND = KINDS.find((k) => k.kind === 'ContainerSource' && k.group === 'sources.knative.dev') as KindInfo;


function statusOf(input: unknown): KubeStatus {
  let err = input;
  if ((input as { code?: unknown }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    err = new UnsupportedMediaTypeError({ message: `${(input as Error).message}; send application/json or application/yaml`, cause: input });
  }
  if (err instanceof ControlError) {
    return {
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      message: err.message,
      reason: err.reason,
      details: { ...(err.objectName !== undefined && { name: err.objectName }), ...(err.kind !== undefined && { kind: err.kind }), causes: err.causes },
      code: err.statusCode,
    };
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown };
  // 4xx pass through; 503 too (Kubernetes mode: the cluster's API server is unreachable, try again); the rest is a 500.
  const code = typeof e.statusCode === 'number' && ((e.statusCode >= 400 && e.statusCode < 500) || e.statusCode === 503) ? e.statusCode : 500;
  const reason =
    code === 415 ? 'UnsupportedMediaType' : code === 413 ? 'RequestEntityTooLarge' : code === 404 ? 'NotFound' : code === 409 ? 'Conflict' : code === 503 ? 'ServiceUnavailable' : code === 500 ? 'InternalError' : 'BadRequest';
  const message = typeof e.message === 'string' ? e.message : String(err);
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', message, reason, details: { causes: [] }, code };
}

function notFoundPath(url: string): NotFoundError {
  return new NotFoundError({ message: `the server could not find the requested resource: ${url}` });
}

function kindFromParams(p: PathParams, url: string): KindInfo {
  const group = p.group ?? '';
  const info = KINDS.find((k) => k.group === group && k.version === p.version && k.plural === p.plural);
  if (!info) throw notFoundPath(url);
  return info;
}

function objectNotFound(info: KindInfo, name: string): NotFoundError {
  return new NotFoundError({ message: `${info.plural}${info.group ? `.${info.group}` : ''} "${name}" not found`, kind: info.kind, name });
}

/** `Warning: 299 - "<text>"` as Kubernetes sends it. */
function warningHeader(text: string): string {
  return `299 - "${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the body against the URL and fills the namespace from it. */
function bodyForPath(info: KindInfo, ns: string, urlName: string | undefined, body: unknown): KObject {
  if (!isRecord(body)) throw new BadRequestError({ message: 'request body must be a JSON or YAML object', kind: info.kind });
  const meta = isRecord(body['metadata']) ? body['metadata'] : undefined;
  const name = meta?.['name'];
  if (typeof name !== 'string' || !name) {
    throw new InvalidError({ message: `${info.kind} "" is invalid: metadata.name: missing field(s)`, kind: info.kind, causes: [{ field: 'metadata.name', message: 'missing field(s)' }] });
  }
  if (urlName !== undefined && name !== urlName) {
    throw new BadRequestError({ message: `the name of the object (${name}) does not match the name on the URL (${urlName})`, kind: info.kind, name });
  }
  const bodyNs = meta?.['namespace'];
  if (bodyNs !== undefined && bodyNs !== ns) {
    throw new BadRequestError({ message: `the namespace of the object (${String(bodyNs)}) does not match the namespace on the URL (${ns})`, kind: info.kind, name });
  }
  if (body['apiVersion'] !== apiVersionOf(info) || body['kind'] !== info.kind) {
    throw new BadRequestError({
      message: `the object's apiVersion/kind (${String(body['apiVersion'])}/${String(body['kind'])}) does not match the URL (${apiVersionOf(info)}/${info.kind})`,
      kind: info.kind,
      name,
    });
  }
  const obj = structuredClone(body) as unknown as KObject;
  obj.metadata.namespace = ns;
  return obj;
}

/** Starts an NDJSON stream on a hijacked reply; the returned function writes one value. */
function openStream(reply: FastifyReply, streams: Set<ServerResponse>): (value: unknown) => void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  raw.flushHeaders();
  streams.add(raw);
  raw.on('close', () => streams.delete(raw));
  return (value) => {
    if (!raw.writableEnded && !raw.destroyed) raw.write(`${JSON.stringify(value)}\n`);
  };
}

/** The control API routes as a Fastify plugin (not encapsulated: it sets the error and not-found handlers). */
export const controlApiPlugin: FastifyPluginAsync<ApiServerOptions> = async (app, opts) => {
  const { store, registry } = opts;
  const ready = opts.ready ?? (() => true);
  const streams = new Set<ServerResponse>();

  // Only JSON and YAML bodies: everything else (including Fastify's default text/plain) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const { error, value } = parseJsonBody(body as string);
    done(error, value);
  });
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) => {
    const { error, value } = parseYamlBody(body as string);
    done(error, value);
  });

  app.setErrorHandler((err, req, reply) => {
    const status = statusOf(err);
    if (status.code >= 500) req.log.error({ err }, 'control API error');
    void reply.code(status.code).type('application/json').send(status);
  });
  app.setNotFoundHandler((req, reply) => {
    const status = statusOf(notFoundPath(req.url));
    void reply.code(404).send(status);
  });
  // Before routing, so unknown paths are refused too: first the Host (on loopback), then the token.
  const loopbackOnly = (opts.allowedHosts ?? 'loopback') === 'loopback';
  app.addHook('onRequest', async (req, reply) => {
    if (loopbackOnly && !isLoopbackHost(req.headers.host)) throw new HostNotAllowedError({ message: hostNotAllowedMessage(req.headers.host) });
    const path = req.url.split('?', 1)[0] ?? '';
    if (UNAUTHENTICATED_PATHS.has(path)) return;
    const check = checkBearer(req.headers.authorization, opts.token);
    if (!check.ok) {
      void reply.header('www-authenticate', 'Bearer realm="wisp"');
      throw new UnauthorizedError({ message: bearerFailureMessage(check.why) });
    }
  });
  app.addHook('preClose', async () => {
    for (const s of streams) s.end();
  });

  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/readyz', async (_req, reply) => (ready() ? reply.type('text/plain').send('ok') : reply.code(503).type('text/plain').send('not ready')));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  /** The kind of a path, when this store serves it (Kubernetes mode serves the kinds whose CRDs it watches). */
  const servedKind = (p: PathParams, url: string): KindInfo => {
    const info = kindFromParams(p, url);
    if (!store.serves(info)) {
      throw new NotFoundError({ message: `${info.plural}.${info.group || 'core'} are not served by this Wisp (Kubernetes mode serves Knative Serving's kinds); use kubectl for them`, kind: info.kind });
    }
    return info;
  };

  const getOne = async (req: FastifyRequest<{ Params: PathParams }>): Promise<KObject> => {
    const info = servedKind(req.params, req.url);
    const { ns, name } = req.params as Required<PathParams>;
    const obj = store.get(info, ns, name);
    if (!obj) throw objectNotFound(info, name);
    return obj;
  };

  const putOne = async (req: FastifyRequest<{ Params: PathParams }>, reply: FastifyReply, create: boolean): Promise<KObject> => {
    const info = servedKind(req.params, req.url);
    const ns = req.params.ns as string;
    if (info.readOnly) {
      throw new MethodNotAllowedError({
        message: `${info.plural}.${info.group} are created by the platform and cannot be ${create ? 'created' : 'applied'}; apply a Service instead`,
        kind: info.kind,
        ...(req.params.name !== undefined && { name: req.params.name }),
      });
    }
    if (req.body === undefined || req.body === null) throw new BadRequestError({ message: 'request body is required', kind: info.kind });
    const input = bodyForPath(info, ns, req.params.name, req.body);
    const name = input.metadata.name;
    if (create && store.get(info, ns, name)) {
      throw new AlreadyExistsError({ message: `${info.plural}.${info.group || 'core'} "${name}" already exists`, kind: info.kind, name });
    }
    const { object, result, warnings } = await applyObject(store, input, { mode: opts.mode ?? 'embedded' });
    if (warnings.length > 0) void reply.header('warning', warnings.map(warningHeader));
    void reply.header('x-wisp-apply', result);
    void reply.code(result === 'created' ? 201 : 200);
    return object;
  };

  const deleteOne = async (req: FastifyRequest<{ Params: PathParams }>): Promise<KObject> => {
    const info = servedKind(req.params, req.url);
    const { ns, name } = req.params as Required<PathParams>;
    const gone = await store.delete(info, ns, name);
    if (!gone) throw objectNotFound(info, name);
    return gone;
  };

  const listOrWatch = async (req: FastifyRequest<{ Params: PathParams; Querystring: { watch?: string } }>, reply: FastifyReply): Promise<unknown> => {
    const info = servedKind(req.params, req.url);
    const ns = req.params.ns;
    const watch = req.query.watch === 'true' || req.query.watch === '1';
    if (!watch) {
      return { apiVersion: apiVersionOf(info), kind: `${info.kind}List`, metadata: { resourceVersion: store.resourceVersion }, items: store.list(info, ns) };
    }
    const send = openStream(reply, streams);
    for (const object of store.list(info, ns)) send({ type: 'ADDED', object });
    const stop = store.watch((ev) => {
      if (ev.kind.group !== info.group || ev.kind.kind !== info.kind) return;
      if (ns !== undefined && ev.object.metadata.namespace !== ns) return;
      send({ type: ev.type, object: ev.object });
    });
    reply.raw.on('close', stop);
    return reply;
  };

  const watchQuery = { type: 'object', properties: { watch: { type: 'string' } } } as const;
  for (const root of ['/apis/:group/:version', '/api/:version']) {
    app.get(`${root}/namespaces/:ns/:plural/:name`, getOne);
    app.put(`${root}/namespaces/:ns/:plural/:name`, (req: FastifyRequest<{ Params: PathParams }>, reply) => putOne(req, reply, false));
    app.delete(`${root}/namespaces/:ns/:plural/:name`, deleteOne);
    app.get(`${root}/namespaces/:ns/:plural`, { schema: { querystring: watchQuery } }, listOrWatch);
    app.post(`${root}/namespaces/:ns/:plural`, (req: FastifyRequest<{ Params: PathParams }>, reply) => putOne(req, reply, true));
    app.get(`${root}/:plural`, { schema: { querystring: watchQuery } }, listOrWatch);
  }

  /** `GET <object>/log[?follow=true]`: newline-delimited log lines of a Service's replicas or a ContainerSource's process. */
  const serveLogs = (kind: KindInfo, source: LogSource | undefined) =>
    async (req: FastifyRequest<{ Params: { ns: string; name: string }; Querystring: { follow?: string } }>, reply: FastifyReply) => {
      const { ns, name } = req.params;
      if (!store.get(kind, ns, name)) throw objectNotFound(kind, name);
      const lines = source?.logs(ns, name) ?? [];
      if (req.query.follow !== 'true' && req.query.follow !== '1') {
        return reply.type('application/x-ndjson').send(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      }
      const send = openStream(reply, streams);
      for (const l of lines) send(l);
      const stop = source?.followLogs(ns, name, send);
      if (stop) reply.raw.on('close', stop);
      return reply;
    };
  const logSchema = { schema: { querystring: { type: 'object', properties: { follow: { type: 'string' } } } } };
  app.get('/apis/serving.knative.dev/v1/namespaces/:ns/services/:name/log', logSchema, serveLogs(SERVICE_KIND, opts.logs));
  app.get('/apis/sources.knative.dev/v1/namespaces/:ns/containersources/:name/log', logSchema, serveLogs(CONTAINERSOURCE_KIND, opts.sourceLogs));
};
(controlApiPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** A ready-to-listen Fastify app serving the control API; over https when `tls` is given (PEM certificate chain and key). */
export function buildApiServer(opts: ApiServerOptions & { logger?: boolean; tls?: { cert: string | Buffer; key: string | Buffer } }): FastifyInstance {
  const { logger, tls, ...pluginOpts } = opts;
  const app = (tls ? Fastify({ logger: logger ?? false, https: { cert: tls.cert, key: tls.key } }) : Fastify({ logger: logger ?? false })) as unknown as FastifyInstance;
  guardHttpServer(app.server, { ...opts.connectionLimits, errorBody: kubernetesStatusBody });
  void app.register(controlApiPlugin, pluginOpts);
  return app;
}
