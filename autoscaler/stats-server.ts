/**
 * The autoscaler's stats endpoint, for activators that run in processes of their own (`wisp up --component
 * activator`; Knative's activators send their stats to the autoscaler over a websocket the same way). Each activator
 * POSTs, about once a second, the time-weighted concurrency it saw per revision, and a poke at once when a request
 * reaches a revision at zero:
 *
 *   POST /v1/stats  {"source": "<activator>", "stats": [{"key": "<ns>/<revision>", "concurrency": 1.5}, ...]}
 *   POST /v1/poke   {"source": "<activator>", "key": "<ns>/<revision>"}
 *
 * A report is answered 200 with the activators that reported in the last ACTIVATOR_TTL_MS, `{"activators": [...]}`:
 * each activator takes its share of the replicas of revisions with a concurrency limit from it (activator/subset.ts),
 * as Knative's activators subset by their own endpoints. A poke is answered 204. 400 with the reason (which field, why) for a body that is not that; 404 other paths, 405 other
 * methods, 413 over 1 MiB. Reports are stamped with this process's clock when they arrive (activators' clocks may
 * differ), and the reports of different sources add up (TimedBuckets), as each activator sees only its share of the
 * requests. Stats of revisions this autoscaler does not manage are dropped, as in-process reports are.
 *
 * No authentication of its own: in the cluster a NetworkPolicy (manifests/) admits only the activator Pods to this
 * port, as Knative relies on the network for its autoscaler's stats port.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { guardHttpServer } from '../core/index.js';
import type { Clock } from '../src/clock.js';

/** What the endpoint feeds: the Autoscaler (loop.ts). */
export interface StatsSink {
  report(key: string, concurrency: number, now: number, source?: string): void;
  poke(key: string): void;
}

export const STATS_PATH = '/v1/stats';
export const POKE_PATH = '/v1/poke';
/** Revisions one report may carry. */
export const MAX_STATS_PER_REPORT = 10_000;

const KEY = { type: 'string', minLength: 3, maxLength: 317, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$' } as const;
const SOURCE = { type: 'string', minLength: 1, maxLength: 253 } as const;

const statsSchema = {
  body: {
    type: 'object',
    required: ['source', 'stats'],
    additionalProperties: false,
    properties: {
      source: SOURCE,
      stats: {
        type: 'array',
        maxItems: MAX_STATS_PER_REPORT,
        items: {
          type: 'object',
          required: ['key', 'concurrency'],
          additionalProperties: false,
          properties: { key: KEY, concurrency: { type: 'number', minimum: 0, maximum: 1e9 } },
        },
      },
    },
  },
} as const;

const pokeSchema = {
  body: { type: 'object', required: ['source', 'key'], additionalProperties: false, properties: { source: SOURCE, key: KEY } },
} as const;

/** How long an activator counts as present after its last report (it reports every second). */
export const ACTIVATOR_TTL_MS = 5000;

export function buildStatsServer(opts: { sink: StatsSink; clock: Clock }): FastifyInstance {
  const seen = new Map<string, number>();
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } }) as unknown as FastifyInstance;
  guardHttpServer(app.server);
  app.setErrorHandler((err, _req, reply) => {
    const e = err as { statusCode?: number; message: string; validation?: unknown };
    const code = e.validation ? 400 : (e.statusCode ?? 500);
    void reply
      .code(code >= 400 && code < 600 ? code : 500)
      .type('text/plain')
      .send(`${e.validation ? 'invalid stats: ' : ''}${e.message}\n`);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?', 1)[0] ?? '';
    if (path === STATS_PATH || path === POKE_PATH) {
      void reply.code(405).header('allow', 'POST').type('text/plain').send(`${req.method} not allowed on ${path}: POST only\n`);
      return;
    }
    void reply.code(404).type('text/plain').send(`no such path ${JSON.stringify(path.slice(0, 256))}: POST ${STATS_PATH} or ${POKE_PATH}\n`);
  });
  app.post<{ Body: { source: string; stats: { key: string; concurrency: number }[] } }>(STATS_PATH, { schema: statsSchema }, async (req, reply) => {
    const now = opts.clock.now();
    for (const s of req.body.stats) opts.sink.report(s.key, s.concurrency, now, req.body.source);
    seen.set(req.body.source, now);
    for (const [source, at] of seen) if (now - at > ACTIVATOR_TTL_MS) seen.delete(source);
    return reply.code(200).send({ activators: [...seen.keys()].sort() });
  });
  app.post<{ Body: { source: string; key: string } }>(POKE_PATH, { schema: pokeSchema }, async (req, reply) => {
    opts.sink.poke(req.body.key);
    return reply.code(204).send();
  });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok'));
  return app;
}
