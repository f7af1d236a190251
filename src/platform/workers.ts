/**
 * `wisp up --data-plane-processes N` (embedded): the data plane on N cores. The primary (`wisp up` itself) keeps the
 * store, the control API, the reconcilers, the runtime, the autoscaler and the importers; N workers (worker-main.ts,
 * forked through node:cluster) each run an activator and the broker data plane (ingress + the Triggers' consumers),
 * all on the same two ports. The pieces are those of the split install (components.ts), wired over one machine:
 *
 * - **One port**: node:cluster's shared listening socket. On Linux the primary accepts and hands the connections to
 *   the workers in turn (round robin), which balances keep-alive clients evenly; NODE_CLUSTER_SCHED_POLICY=none
 *   lets the kernel pick instead (measured in test/bench/processes.ts).
 * - **Routing**: this class is the ServingReconciler's RoutingSink. It keeps the routing snapshot and every
 *   revision's state, and sends each worker its own view of them (worker-share.ts: its share of every revision's
 *   `containerConcurrency`, so that no replica gets more than its limit from all the workers together), again
 *   whole to a worker that (re)starts.
 * - **Stats**: each worker reports its concurrency (and pokes at a cold start) to the autoscaler's stats endpoint
 *   (autoscaler/stats-server.ts) on loopback, as its own source `data-plane-<i>`: the autoscaler adds them up.
 * - **Brokers**: the kinds a broker component reads (Brokers, Triggers, Services, ConfigMaps) are mirrored to every
 *   worker (mirror-store.ts); the primary's eventing runs the `control` role (status, Redis and Kafka storage), the
 *   workers the `data` role. A Memory broker's events stay in the worker whose ingress accepted them and are
 *   delivered by that worker's consumers; Redis and Kafka Triggers have one consumer per worker, competing for jobs
 *   (BullMQ) or sharing the partitions (one Kafka consumer group).
 * - **Crashes**: a worker that exits unasked is logged as an error and started again (at once, or after a backoff
 *   of up to 10 s when it keeps dying young). What it held is lost as in a crash of a single `wisp up` today, but
 *   only its own share: requests in flight or queued on it (their connections are cut), and a Memory broker's events
 *   accepted by it and not delivered yet. Redis and Kafka keep theirs (stalled jobs and uncommitted offsets are
 *   delivered again, by another worker or the restarted one).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { RevisionState, RouteEntry, RoutingSnapshot } from '../../activator/index.js';
import { buildStatsServer, type StatsSink } from '../../autoscaler/index.js';
import type { Clock, Timer } from '../clock.js';
import type { ResourceReader } from '../control/resource-store.js';
import type { RoutingSink } from '../control/serving/reconciler.js';
import type { TriggerDispatcher } from '../control/eventing/reconciler.js';
import type { TriggerRuntime } from '../../broker/types.js';
import type { Logger } from './logger.js';
import { kindKey } from './mirror-store.js';
import { portOf } from './process.js';
import { dataPlaneKinds } from './seams.js';
import { routeClosures, workerRevision, type WorkerRevision } from './worker-share.js';
import { isWorkerMessage, WORKER_CONFIG_ENV, type MirroredObject, type PrimaryMessage, type WorkerConfig } from './worker-protocol.js';

/** A worker that dies sooner than this after its start is started again after a growing delay. */
const STABLE_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 200;
/** How long close() waits for a worker to drain (the activator's own drain is 30 s) before SIGKILL. */
const STOP_TIMEOUT_MS = 35_000;
/** How long start() waits for every worker to listen. */
const START_TIMEOUT_MS = 60_000;

export class DataPlaneStartError extends Error {
  readonly code = 'WISP_ERR_DATA_PLANE_START';
}

export interface DataPlaneWorkersOptions {
  count: number;
  clock: Clock;
  log: Logger;
  /** The store whose Brokers, Triggers, Services and ConfigMaps the workers mirror. */
  store: ResourceReader;
  /** Where the autoscaler takes the workers' stats and pokes. */
  autoscaler: StatsSink;
  /** Everything of a WorkerConfig but its place and the stats endpoint (this class opens it). */
  worker: Omit<WorkerConfig, 'index' | 'count' | 'statsUrl'>;
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  /** init sent: it gets every change from now on. */
  initialised: boolean;
  ready: boolean;
  privatePort: number | undefined;
  startedAt: number;
  restartDelay: number;
  restartTimer: Timer | undefined;
  /** What this worker was last sent per revision key (JSON), to send only changes. */
  sent: Map<string, string>;
  /** The last mirrored change its eventing reconciler has taken (-1: none yet). */
  synced: number;
}

/** How long a Trigger waits for every worker to consume it before its subscription is retried. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;

export class DataPlaneWorkers implements RoutingSink, TriggerDispatcher {
  readonly #opts: DataPlaneWorkersOptions;
  readonly #slots: Slot[];
  readonly #states = new Map<string, RevisionState>();
  #hosts = new Map<string, RouteEntry>();
  #closures = new Map<string, ReadonlySet<string>>();
  #ports: { ingress: number; broker: number } | undefined;
  #statsUrl = '';
  #closeStats: () => Promise<void> = async () => undefined;
  #stopMirror: () => void = () => undefined;
  #dirty = new Set<string>();
  #flushQueued = false;
  #closing: Promise<void> | undefined;
  #starting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Mirrored changes sent so far. */
  #seq = 0;
  readonly #syncWaiters = new Set<{ seq: number; done: (err?: Error) => void }>();

  private constructor(opts: DataPlaneWorkersOptions) {
    this.#opts = opts;
    this.#slots = Array.from({ length: opts.count }, (_, index) => ({
      index,
      worker: undefined,
      initialised: false,
      ready: false,
      privatePort: undefined,
      startedAt: 0,
      restartDelay: 0,
      restartTimer: undefined,
      sent: new Map(),
      synced: -1,
    }));
  }

  /** Forks the workers and resolves once every one listens; rejects (every worker stopped) when one cannot. */
  static async start(opts: DataPlaneWorkersOptions): Promise<DataPlaneWorkers> {
    if (!cluster.isPrimary) throw new DataPlaneStartError('data-plane workers are started by the primary wisp up process only');
    const pool = new DataPlaneWorkers(opts);
    try {
      await pool.#begin();
      return pool;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** The shared ports, as bound. */
  get ports(): { ingress: number; broker: number } {
    return this.#ports!;
  }

  /** The workers' pids by index (undefined while one is restarting). */
  get pids(): (number | undefined)[] {
    return this.#slots.map((s) => s.worker?.process.pid);
  }

  setRouting(snapshot: RoutingSnapshot): void {
    this.#hosts = new Map(snapshot.hosts);
    this.#closures = routeClosures(snapshot);
    this.#broadcast({ t: 'routing', hosts: this.#hosts });
    // The closures may have changed: every revision's view is recomputed (only changes are sent).
    for (const k of this.#states.keys()) this.#dirty.add(k);
    this.#queueFlush();
  }

  upsertRevision(state: RevisionState): void {
    this.#states.set(state.key, state);
    this.#markClosure(state.key);
  }

  removeRevision(key: string): void {
    this.#states.delete(key);
    this.#markClosure(key);
  }

  async close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  async #begin(): Promise<void> {
    const stats = buildStatsServer({ sink: this.#opts.autoscaler, clock: this.#opts.clock });
    await stats.listen({ port: 0, host: '127.0.0.1' });
    this.#closeStats = () => stats.close();
    this.#statsUrl = `http://127.0.0.1:${portOf(stats.server.address())}`;

    const mirrored = new Set(dataPlaneKinds('broker').map((k) => kindKey(k.info)));
    this.#stopMirror = this.#opts.store.watch((ev) => {
      const kind = kindKey(ev.kind);
      if (mirrored.has(kind)) this.#broadcast({ t: 'object', seq: ++this.#seq, type: ev.type, kind, object: ev.object });
    });

    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), args: [], serialization: 'advanced' });
    const started = new Promise<void>((resolve, reject) => (this.#starting = { resolve, reject }));
    const timer = this.#opts.clock.setTimeout(
      () => this.#starting?.reject(new DataPlaneStartError(`data-plane workers: not all ${this.#slots.length} listening after ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    try {
      for (const slot of this.#slots) this.#fork(slot);
      await started;
    } finally {
      timer.cancel();
      this.#starting = undefined;
    }
    this.#opts.log.info(`data plane: ${this.#slots.length} processes (pids ${this.pids.join(', ')}) on ports ${this.#ports!.ingress} (Services) and ${this.#ports!.broker} (Brokers)`);
  }

  #fork(slot: Slot): void {
    const ports = this.#ports;
    const config: WorkerConfig = {
      ...this.#opts.worker,
      // A restarted worker binds the ports the first ones got (the option may have been 0: any free port).
      ...(ports && { ingressPort: ports.ingress, brokerPort: ports.broker }),
      index: slot.index,
      count: this.#slots.length,
      statsUrl: this.#statsUrl,
    };
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(config) });
    slot.worker = worker;
    slot.initialised = false;
    slot.ready = false;
    slot.privatePort = undefined;
    slot.sent = new Map();
    slot.synced = -1;
    slot.startedAt = this.#opts.clock.now();
    let failure: string | undefined;
    worker.on('message', (m: unknown) => {
      if (!isWorkerMessage(m) || slot.worker !== worker) return;
      if (m.t === 'hello') this.#init(slot);
      else if (m.t === 'failed') failure = m.message;
      else if (m.t === 'ready') this.#ready(slot, m);
      else if (m.t === 'synced') {
        slot.synced = Math.max(slot.synced, m.seq);
        this.#checkSynced();
      }
    });
    worker.on('error', (err) => this.#opts.log.warn(`data-plane worker ${slot.index}: ${err.message}`));
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      this.#exited(slot, worker.process.pid, code, signal, failure);
    });
  }

  #init(slot: Slot): void {
    const objects: MirroredObject[] = [];
    for (const k of dataPlaneKinds('broker')) for (const object of this.#opts.store.list(k.info)) objects.push({ kind: kindKey(k.info), object });
    const revisions: WorkerRevision[] = [];
    for (const key of this.#states.keys()) {
      const view = this.#viewFor(slot, key);
      if (view === undefined) continue;
      revisions.push(view);
      slot.sent.set(key, JSON.stringify(view));
    }
    slot.initialised = true;
    this.#send(slot, { t: 'init', seq: this.#seq, objects, hosts: this.#hosts, revisions });
  }

  #ready(slot: Slot, m: { ingressPort: number; brokerPort: number; privatePort: number }): void {
    slot.ready = true;
    slot.privatePort = m.privatePort;
    this.#ports ??= { ingress: m.ingressPort, broker: m.brokerPort };
    // Worker 0's forwarding port is part of the other workers' views.
    if (slot.index === 0) {
      for (const k of this.#states.keys()) this.#dirty.add(k);
      this.#queueFlush();
    }
    if (this.#starting !== undefined && this.#slots.every((s) => s.ready)) this.#starting.resolve();
  }

  #exited(slot: Slot, pid: number | undefined, code: number | null, signal: string | null, failure: string | undefined): void {
    slot.worker = undefined;
    slot.ready = false;
    slot.initialised = false;
    this.#checkSynced();
    const how = signal !== null && signal !== '' ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.#closing !== undefined) return;
    if (this.#starting !== undefined) {
      this.#starting.reject(new DataPlaneStartError(`data-plane worker ${slot.index} (pid ${pid}) ${how} during start-up${failure !== undefined ? `: ${failure}` : ''}`));
      return;
    }
    if (slot.index === 0) {
      // Forwarded revisions wait (no endpoint) until worker 0 is back.
      for (const k of this.#states.keys()) this.#dirty.add(k);
      this.#queueFlush();
    }
    const livedMs = this.#opts.clock.now() - slot.startedAt;
    slot.restartDelay = livedMs >= STABLE_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, slot.restartDelay === 0 ? FIRST_RESTART_DELAY_MS : slot.restartDelay * 2);
    this.#opts.log.error(
      `data-plane worker ${slot.index} (pid ${pid}) ${how}${failure !== undefined ? ` (${failure})` : ''}: its requests in flight and the Memory-broker events it held are lost; starting it again${slot.restartDelay > 0 ? ` in ${slot.restartDelay} ms` : ''}`,
    );
    slot.restartTimer = this.#opts.clock.setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.#closing === undefined) this.#fork(slot);
    }, slot.restartDelay);
  }

  /**
   * The eventing reconciler's dispatcher (control role): resolves once every running worker has taken the changes
   * mirrored so far (the Trigger among them), so that a Trigger is Ready only when every worker's Memory broker
   * fans events out to it. A worker that is restarting is not waited for: it answers 503 until it has everything.
   */
  upsertTrigger(trigger: TriggerRuntime): Promise<void> {
    return this.#whenSynced(this.#seq, `trigger ${trigger.key}`);
  }

  async removeTrigger(): Promise<void> {
    // Each worker's own reconciler unsubscribes it from the mirrored delete.
  }

  #whenSynced(seq: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.#opts.clock.setTimeout(() => {
        this.#syncWaiters.delete(waiter);
        const late = this.#slots.filter((s) => s.initialised && s.synced < seq).map((s) => s.index);
        reject(new Error(`data-plane worker(s) ${late.join(', ')} did not take ${what} within ${SUBSCRIBE_TIMEOUT_MS / 1000} s`));
      }, SUBSCRIBE_TIMEOUT_MS);
      const waiter = {
        seq,
        done: (err?: Error) => {
          timer.cancel();
          if (err) reject(err);
          else resolve();
        },
      };
      this.#syncWaiters.add(waiter);
      this.#checkSynced();
    });
  }

  #checkSynced(): void {
    for (const w of this.#syncWaiters) {
      if (this.#slots.every((s) => !s.initialised || s.synced >= w.seq)) {
        this.#syncWaiters.delete(w);
        w.done();
      }
    }
  }

  #markClosure(key: string): void {
    this.#dirty.add(key);
    const set = this.#closures.get(key);
    if (set !== undefined) for (const k of set) this.#dirty.add(k);
    this.#queueFlush();
  }

  /** Many changes in one tick (a reconcile pass) are sent once. */
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      const keys = this.#dirty;
      this.#dirty = new Set();
      for (const slot of this.#slots) {
        if (!slot.initialised) continue;
        for (const key of keys) {
          const view = this.#viewFor(slot, key);
          if (view === undefined) {
            if (slot.sent.delete(key)) this.#send(slot, { t: 'remove-revision', key });
            continue;
          }
          const json = JSON.stringify(view);
          if (slot.sent.get(key) === json) continue;
          slot.sent.set(key, json);
          this.#send(slot, { t: 'revision', ...view });
        }
      }
    });
  }

  #viewFor(slot: Slot, key: string): WorkerRevision | undefined {
    const owner = this.#slots[0];
    const ownerAddress = owner?.ready && owner.privatePort !== undefined ? { host: '127.0.0.1', port: owner.privatePort } : undefined;
    return workerRevision(key, this.#states, this.#closures, { index: slot.index, count: this.#slots.length }, ownerAddress);
  }

  #broadcast(m: PrimaryMessage): void {
    for (const slot of this.#slots) if (slot.initialised) this.#send(slot, m);
  }

  #send(slot: Slot, m: PrimaryMessage): void {
    const w = slot.worker;
    if (w === undefined || !w.isConnected()) return;
    try {
      w.send(m);
    } catch (err) {
      // The channel closed under us: the exit handler restarts the worker, which gets everything again.
      this.#opts.log.debug(`data-plane worker ${slot.index}: send: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async #stop(): Promise<void> {
    this.#stopMirror();
    for (const w of this.#syncWaiters) w.done(new Error('data plane closing'));
    this.#syncWaiters.clear();
    for (const slot of this.#slots) {
      slot.restartTimer?.cancel();
      slot.restartTimer = undefined;
    }
    await Promise.all(
      this.#slots.map(async (slot) => {
        const w = slot.worker;
        if (w === undefined || w.process.exitCode !== null || w.process.signalCode !== null) return;
        const exited = new Promise<void>((r) => w.once('exit', () => r()));
        if (w.isConnected()) this.#send(slot, { t: 'shutdown' });
        else w.process.kill('SIGTERM');
        const timer = this.#opts.clock.setTimeout(() => w.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        timer.cancel();
      }),
    );
    await this.#closeStats();
  }
}
