/**
 * A data-plane worker of `wisp up --data-plane-processes N` (forked by workers.ts through node:cluster): the
 * activator on the shared Service ingress port, the broker ingress and the Triggers' consumers (eventing's `data`
 * role) on the shared broker port, from what the primary mirrors over IPC. It reports concurrency and pokes to the
 * primary's autoscaler over HTTP (RemoteReporter, as `--component activator` does), one stats source per worker.
 *
 * A private listener on loopback takes the requests other workers forward to this one (worker 0) when their share of
 * a revision's `containerConcurrency` is 0 (worker-share.ts).
 *
 * The worker's lifecycle is the primary's: SIGINT and SIGTERM (a terminal's Ctrl-C reaches the whole process group)
 * are left to the primary, which sends `shutdown`; a worker whose primary is gone (IPC disconnected) drains and exits.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AggregatorRegistry, Registry } from 'prom-client';
import { Activator, normaliseHost, RemoteReporter, type ConcurrencyReporter, type RouteEntry } from '../../activator/index.js';
import { HttpSender } from '../../broker/delivery/index.js';
import { systemClock } from '../clock.js';
import { startEventing, type Eventing } from './eventing.js';
import { createLogger, type Logger } from './logger.js';
import { MirrorStore } from './mirror-store.js';
import { dataPlaneKinds } from './seams.js';
import { isPrimaryMessage, WORKER_CONFIG_ENV, type PrimaryMessage, type WorkerConfig, type WorkerMessage } from './worker-protocol.js';

// kafkajs' TimeoutNegativeWarning, dropped as bin/wisp.js drops it in the primary.
const printWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNegativeWarning') return;
  for (const print of printWarning) print(warning);
});

const PATH_PREFIX = /^\/[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\/[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/i;

function send(m: WorkerMessage): void {
  process.send?.(m);
}

function prefixed(log: Logger, prefix: string): Logger {
  return {
    debug: (m) => log.debug(`${prefix}${m}`),
    info: (m) => log.info(`${prefix}${m}`),
    warn: (m) => log.warn(`${prefix}${m}`),
    error: (m) => log.error(`${prefix}${m}`),
  };
}

function readConfig(): WorkerConfig {
  const raw = process.env[WORKER_CONFIG_ENV];
  if (raw === undefined || process.send === undefined) {
    throw new Error(`worker-main: not a data-plane worker (no ${WORKER_CONFIG_ENV} or no IPC channel): it is started by wisp up --data-plane-processes`);
  }
  return JSON.parse(raw) as WorkerConfig;
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const log = prefixed(createLogger({ level: cfg.logLevel, format: cfg.logFormat }), `data-plane ${cfg.index}: `);
  process.on('SIGINT', () => log.debug('SIGINT left to the primary'));
  process.on('SIGTERM', () => log.debug('SIGTERM left to the primary'));
  const clock = systemClock;
  const registry = new Registry();
  // Answers the primary's /metrics (prom-client's cluster aggregation; see data-plane.ts).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const store = new MirrorStore({ kinds: dataPlaneKinds('broker').map((k) => k.info), onError: (err) => log.error(`mirror watcher: ${String(err)}`) });

  // Revisions forwarded to worker 0 are reported by worker 0, which holds them: not here as well.
  const forwarded = new Set<string>();
  const remote = new RemoteReporter({ url: cfg.statsUrl, source: `data-plane-${cfg.index}`, logger: log });
  const reporter: ConcurrencyReporter = {
    report: (key, concurrency, now) => {
      if (!forwarded.has(key)) remote.report(key, concurrency, now);
    },
    flush: () => remote.flush(),
    poke: (key) => remote.poke(key),
  };
  const activator = new Activator({ clock, reporter, registry, logger: log });
  let hosts = new Map<string, RouteEntry>();
  let privateServer: Server | undefined;
  let eventing: Eventing | undefined;
  let sender: HttpSender | undefined;
  let closing: Promise<void> | undefined;

  const close = (code: number): Promise<void> =>
    (closing ??= (async () => {
      try {
        await Promise.all([
          activator.close(),
          eventing?.close(),
          privateServer && new Promise<void>((r) => privateServer!.close(() => r())),
        ]);
        await sender?.close();
        await remote.close();
      } catch (err) {
        log.warn(`shutdown: ${err instanceof Error ? err.message : String(err)}`);
      }
      process.exit(code);
    })());

  /** A forwarded request that was routed by its path on the forwarding worker: give worker 0 the path back. */
  const forwardedHandler = (req: IncomingMessage, res: ServerResponse): void => {
    const host = req.headers.host;
    const byHost = host !== undefined && hosts.has(normaliseHost(host) ?? '');
    if (!byHost) {
      const raw = req.rawHeaders;
      let at = -1;
      for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'x-forwarded-prefix') at = i;
      const prefix = at >= 0 ? raw[at + 1]! : '';
      if (PATH_PREFIX.test(prefix)) {
        raw.splice(at, 2);
        req.url = `${prefix}${req.url === '/' ? '' : (req.url ?? '')}`;
      }
    }
    activator.handle(req, res);
  };

  // The primary's control reconciler reports a Trigger Ready once every worker consumes it: acknowledge the mirrored
  // changes once this worker's eventing reconciler has taken them (coalesced: the latest seq after an idle queue).
  let wantSeq = -1;
  let acking = false;
  const acknowledge = (seq: number): void => {
    wantSeq = Math.max(wantSeq, seq);
    if (acking || eventing === undefined) return;
    acking = true;
    void (async () => {
      for (let sent = -1; sent < wantSeq; ) {
        const target = wantSeq;
        await eventing!.reconciler.idle();
        send({ t: 'synced', seq: target });
        sent = target;
      }
      acking = false;
    })();
  };

  const apply = (m: PrimaryMessage): void => {
    switch (m.t) {
      case 'object':
        store.change(m.type, m.kind, m.object);
        acknowledge(m.seq);
        return;
      case 'routing':
        hosts = m.hosts;
        activator.setRouting({ hosts });
        return;
      case 'revision':
        if (m.forwarded) forwarded.add(m.state.key);
        else forwarded.delete(m.state.key);
        activator.upsertRevision(m.state);
        return;
      case 'remove-revision':
        forwarded.delete(m.key);
        activator.removeRevision(m.key);
        return;
      case 'shutdown':
        void close(0);
        return;
      case 'init':
        return void start(m);
    }
  };

  const start = async (m: Extract<PrimaryMessage, { t: 'init' }>): Promise<void> => {
    try {
      store.load(m.objects);
      hosts = m.hosts;
      activator.setRouting({ hosts });
      for (const r of m.revisions) apply({ t: 'revision', ...r });
      // Through node:cluster: the primary holds the shared socket and hands connections to the workers in turn.
      const listening = await activator.listen({ port: cfg.ingressPort, host: cfg.host });
      const server = createServer({ keepAliveTimeout: 5000, maxHeaderSize: 16 * 1024 }, forwardedHandler);
      privateServer = server;
      const privatePort = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        // exclusive: this worker's own socket, not one shared through the primary.
        server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
          const a = server.address();
          resolve(typeof a === 'object' && a !== null ? a.port : 0);
        });
      });
      sender = new HttpSender();
      eventing = await startEventing({
        host: cfg.host,
        port: cfg.brokerPort,
        defaultBrokerClass: cfg.defaultBrokerClass,
        redis: cfg.redis,
        kafkaBrokers: cfg.kafkaBrokers,
        ...(cfg.maxBacklog !== undefined && { maxBacklog: cfg.maxBacklog }),
        store,
        clock,
        registry,
        log,
        sender,
        brokerUrlBase: cfg.brokerUrlBase,
        role: 'data',
      });
      await eventing.reconciler.idle();
      wantSeq = Math.max(wantSeq, m.seq);
      acknowledge(wantSeq);
      send({ t: 'ready', ingressPort: listening.port, brokerPort: eventing.port, privatePort });
      log.debug(`serving on ${cfg.host}:${listening.port} (Services) and :${eventing.port} (Brokers), forwarding port ${privatePort}`);
    } catch (err) {
      send({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
      await close(1);
    }
  };

  process.on('message', (m: unknown) => {
    if (isPrimaryMessage(m)) apply(m);
  });
  process.on('disconnect', () => {
    log.warn('the primary is gone: draining and exiting');
    void close(0);
  });
  send({ t: 'hello' });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
