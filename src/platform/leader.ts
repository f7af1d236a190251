/**
 * `wisp up --runtime kubernetes --leader-elect`: the controller (reconcilers, autoscaler) and the data plane that
 * goes with it run in one replica at a time, the holder of the Lease `<namespace>/wisp-controller`.
 *
 * Semantics (decided):
 * - Until it holds the Lease the process is a hot standby: it runs nothing of the platform, answers `/healthz` (200)
 *   and `/readyz` (503 `standby: not the leader`) on the control API's address, every other path 503, and prints
 *   one line `standby: waiting for the lease <ns>/<name> held by <identity>`.
 * - When it acquires the Lease it prints `leader: acquired the lease <ns>/<name> as <identity>`, closes the standby
 *   answers and starts the platform (startPlatform, unchanged), which then answers on the same port.
 * - When it loses the Lease (no renewal within the renew deadline, or another holder seen), it stops the platform and
 *   exits non-zero, as client-go/Knative controllers do (`leaderelection lost`), so that its supervisor restarts it as
 *   a standby. Stopping is bounded by the time the others still wait (leaseDuration − renewDeadline).
 * - On SIGINT/SIGTERM it stops the platform first, then releases the Lease (holderIdentity cleared), so a standby
 *   takes over at its next read instead of after the lease duration.
 */
import { readFile } from 'node:fs/promises';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { systemClock, type Clock } from '../clock.js';
import { KubeClient, loadKubeConfig } from '../control/kube/client.js';
import { LeaderElector, type LeaderElectionError, type LeaseApiClient } from '../control/kube/leader.js';
import type { LeaseTimings } from '../control/kube/lease.js';
import { createLogger, type Logger } from './logger.js';
import type { Platform, PlatformOptions, StartPlatform } from './types.js';

export interface LeaderElectionOptions extends LeaseTimings {
  /** The Lease's namespace (default `wisp-system`, `--leader-elect-namespace`). */
  namespace: string;
  /** The Lease's name (`wisp-controller`). */
  name: string;
  /** Default `<hostname>_<random>`. */
  identity?: string;
}

export interface LeaderElectedDeps {
  startPlatform: StartPlatform;
  /** One line for the user (stdout): the standby and leader lines. */
  print: (line: string) => void;
  clock?: Clock;
  /** Default: a KubeClient on the kubeconfig of `options.kubernetes`. */
  client?: LeaseApiClient;
  log?: Logger;
}

export interface LeaderElected {
  readonly identity: string;
  /** `<namespace>/<name>` of the Lease. */
  readonly lease: string;
  /** The timings in force (for the bound on stopping after a loss). */
  readonly timings: Readonly<LeaseTimings>;
  /** Resolves with the running platform once this process holds the Lease; rejects when it never will. */
  readonly leading: Promise<Platform>;
  /** Resolves when leadership, once held, is lost: the platform must stop and the process exit non-zero. */
  readonly lost: Promise<LeaderElectionError>;
  /** Graceful stop: the standby answers, the platform (once started), then the Lease released. Idempotent. */
  close(): Promise<void>;
  /** After a loss: stops the platform (started or starting), without touching the Lease (it is not ours). */
  abandon(): Promise<void>;
}

export const STANDBY_NOT_READY = 'standby: not the leader';

export async function startLeaderElected(options: PlatformOptions, le: LeaderElectionOptions, deps: LeaderElectedDeps): Promise<LeaderElected> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? createLogger({ level: options.logLevel ?? 'info', format: options.logFormat ?? 'text' });
  const k = options.kubernetes ?? {};
  const client = deps.client ?? new KubeClient(loadKubeConfig({ ...(k.kubeconfig !== undefined && { kubeconfig: k.kubeconfig }), ...(k.context !== undefined && { context: k.context }) }));

  let waitingPrinted = false;
  const elector: LeaderElector = new LeaderElector({
    client,
    clock,
    namespace: le.namespace,
    name: le.name,
    ...(le.identity !== undefined && { identity: le.identity }),
    leaseDurationMs: le.leaseDurationMs,
    renewDeadlineMs: le.renewDeadlineMs,
    retryPeriodMs: le.retryPeriodMs,
    onNewLeader: (holder) => {
      if (holder === '' || holder === elector.identity) return;
      if (!waitingPrinted && elector.state === 'standby') {
        waitingPrinted = true;
        deps.print(`standby: waiting for the lease ${elector.lease} held by ${holder}`);
      } else log.info(`leader election: the lease ${elector.lease} is held by ${holder}`);
    },
    onError: (err) => log.warn(`leader election ${elector.lease}: ${err instanceof Error ? err.message : String(err)} (retrying)`),
  });

  const standby = await listenStandby(options, () => elector.leader);
  let closing = false;
  let starting: Promise<Platform> | undefined;

  elector.start();
  const leading = (async (): Promise<Platform> => {
    await elector.whenLeading();
    deps.print(`leader: acquired the lease ${elector.lease} as ${elector.identity}`);
    await standby.close();
    if (closing) throw new Error('wisp up: stopping');
    starting = deps.startPlatform(options);
    try {
      return await starting;
    } catch (err) {
      // Not running after all: hand the Lease over at once rather than after the lease duration.
      await elector.release();
      throw err;
    }
  })();
  leading.catch(() => undefined);

  const lost = elector.whenEnded().then((end) => (end.state === 'lost' && end.error ? end.error : new Promise<never>(() => undefined)));
  const stopPlatform = async (): Promise<void> => {
    const platform = await starting?.catch(() => undefined);
    await platform?.close();
  };
  let closed: Promise<void> | undefined;

  return {
    identity: elector.identity,
    lease: elector.lease,
    timings: elector.timings,
    leading,
    lost,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        await standby.close();
        // Stop acting first, then hand the Lease over (client-go's ReleaseOnCancel asks the same of its callers).
        await stopPlatform();
        await elector.release();
      })()),
    abandon: async () => {
      closing = true;
      elector.stop();
      await standby.close();
      await stopPlatform();
    },
  };
}

/** The standby's answers: alive, not ready, and nothing else until it leads. */
const standbyPlugin: FastifyPluginAsync<{ leader: () => string | undefined }> = async (app, opts) => {
  const text = { response: { 200: { type: 'string' }, 503: { type: 'string' } } };
  app.get('/healthz', { schema: text }, async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/readyz', { schema: text }, async (_req, reply) => reply.code(503).type('text/plain').send(STANDBY_NOT_READY));
  app.setNotFoundHandler(async (_req, reply) => {
    const leader = opts.leader();
    const message = `${STANDBY_NOT_READY}${leader ? `; the leader is ${leader}` : ''}: send requests to the leader's control API`;
    return reply.code(503).send({ apiVersion: 'v1', kind: 'Status', status: 'Failure', message, reason: 'ServiceUnavailable', code: 503 });
  });
};

async function listenStandby(options: PlatformOptions, leader: () => string | undefined): Promise<{ close(): Promise<void> }> {
  const tls = options.apiTls ? { cert: await readFile(options.apiTls.certFile), key: await readFile(options.apiTls.keyFile) } : undefined;
  const app = (tls ? Fastify({ logger: false, https: tls }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  await app.register(standbyPlugin, { leader });
  await app.listen({ port: options.apiPort, host: options.apiHost === 'localhost' ? '127.0.0.1' : options.apiHost });
  let closing: Promise<void> | undefined;
  return { close: () => (closing ??= app.close()) };
}
