import { join } from 'node:path';
import type { Clock } from '../../clock.js';
import type {
  LogLine,
  ReplicaEndpoint,
  RevisionFailure,
  RevisionRuntimeStatus,
  RevisionWorkload,
  WorkloadRuntime,
} from '../types.js';
import type { BackoffConfig } from './backoff.js';
import { LocalRuntimeError, RuntimeClosedError } from './errors.js';
import { LogStore } from './logs.js';
import { processStartTime, waitForGroupsGone } from './proc.js';
import { START_HISTORY, startRange } from './probe-schedule.js';
import { Replica, type ReplicaEvents } from './replica.js';
import { isStarting, pickVictims, type ReplicaPhase } from './replica-state.js';
import { checkRunnable } from './spawn-plan.js';
import { ReplicaStateFile, type ProcessIdentity } from './state-file.js';

export interface LocalRuntimeLogger {
  info(m: string): void;
  warn(m: string): void;
}

export interface LocalRuntimeOptions {
  clock: Clock;
  /** When set, live replicas are recorded in `<stateDir>/replicas.json` so a restarted platform can reap orphans. */
  stateDir?: string;
  /** Interface replicas and probes use. Default 127.0.0.1. */
  host?: string;
  /**
   * Readiness probe period while a replica starts. Default 50 ms. Probing right after spawn climbs to it from 1 ms
   * and is dense around the revision's previous start time (probe-schedule.ts).
   */
  probeIntervalMs?: number;
  /** Log lines kept per revision. Default 2000. */
  logLines?: number;
  /** Restart back-off: initialMs (100) doubling to maxMs (10 000); reset once a replica stayed ready resetAfterMs (30 000). */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  logger?: LocalRuntimeLogger;
  /** Environment replicas inherit (PATH, HOME...). Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** What `inspect()` shows of one replica (for `wisp describe` and tests). */
export interface ReplicaInfo {
  id: string;
  phase: ReplicaPhase;
  pid?: number;
  port?: number;
  restarts: number;
  /** When a replica in back-off restarts (clock ms). */
  restartAt?: number;
}

interface RevisionEntry {
  workload: RevisionWorkload;
  serviceKey: string;
  desired: number;
  replicas: Map<string, Replica>;
  failure?: RevisionFailure;
  /** Permanent: the container cannot run as a process at all. */
  unrunnable: boolean;
  /** remove() in progress: no more scaling. */
  removing: boolean;
  restarts: number;
  nextSeq: number;
  lastEmitted: string;
  /** Recent replica starts (probing start to ready, newest last): new replicas are probed densely around them (probe-schedule.ts). */
  startsMs: number[];
}

/** Bound on waiting for SIGKILLed process groups to disappear after their leader exited. */
const GROUP_EXIT_WAIT_MS = 2_000;

const NOOP_LOGGER: LocalRuntimeLogger = { info: () => undefined, warn: () => undefined };

/** Runs each revision's `command` + `args` as local processes (Knative's runtime contract). */
export class LocalRuntime implements WorkloadRuntime {
  readonly #clock: Clock;
  readonly #host: string;
  readonly #probeIntervalMs: number;
  readonly #backoff: BackoffConfig;
  readonly #logger: LocalRuntimeLogger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #logs: LogStore;
  readonly #state: ReplicaStateFile | undefined;
  readonly #revisions = new Map<string, RevisionEntry>();
  readonly #listeners = new Set<(key: string, status: RevisionRuntimeStatus) => void>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** This platform process, recorded as the owner of every replica (orphans are replicas of a dead owner). */
  #selfIdentity: Promise<ProcessIdentity | undefined> | undefined;

  constructor(opts: LocalRuntimeOptions) {
    this.#clock = opts.clock;
    this.#host = opts.host ?? '127.0.0.1';
    this.#probeIntervalMs = opts.probeIntervalMs ?? 50;
    this.#backoff = {
      initialMs: opts.backoff?.initialMs ?? 100,
      maxMs: opts.backoff?.maxMs ?? 10_000,
      resetAfterMs: opts.backoff?.resetAfterMs ?? 30_000,
    };
    this.#logger = opts.logger ?? NOOP_LOGGER;
    this.#env = opts.env ?? process.env;
    this.#logs = new LogStore({ capacity: opts.logLines ?? 2000, onListenerError: (e) => this.#warnListener(e) });
    this.#state = opts.stateDir === undefined ? undefined : new ReplicaStateFile({ path: join(opts.stateDir, 'replicas.json'), logger: this.#logger });
  }

  /** Builds a runtime and first reaps replicas a killed previous run left behind in `stateDir` (see state-file.ts for why and how). */
  static async create(opts: LocalRuntimeOptions): Promise<LocalRuntime> {
    const rt = new LocalRuntime(opts);
    await rt.reapOrphans();
    return rt;
  }

  /** Kills recorded replicas of a previous run that are still alive (pid and start time match). Returns their pids. */
  async reapOrphans(): Promise<number[]> {
    return this.#state ? this.#state.reap() : [];
  }

  deploy(workload: RevisionWorkload): void {
    if (this.#closed) throw new RuntimeClosedError(`deploy(${workload.key})`);
    if (this.#revisions.has(workload.key)) return;
    const entry: RevisionEntry = {
      workload,
      serviceKey: LogStore.serviceKey(workload.namespace, workload.service),
      desired: 0,
      replicas: new Map(),
      unrunnable: false,
      removing: false,
      restarts: 0,
      nextSeq: 1,
      lastEmitted: '',
      startsMs: [],
    };
    try {
      checkRunnable(workload);
    } catch (err) {
      if (!(err instanceof LocalRuntimeError) || !('reason' in err)) throw err;
      entry.unrunnable = true;
      entry.failure = { reason: String(err.reason), message: err.message };
    }
    this.#revisions.set(workload.key, entry);
    this.#emit(workload.key, entry);
  }

  scale(key: string, replicas: number): void {
    const rev = this.#revisions.get(key);
    if (!rev || rev.unrunnable || rev.removing || this.#closed || !Number.isFinite(replicas)) return;
    const n = Math.max(0, Math.floor(replicas));
    rev.desired = n;
    const live = [...rev.replicas.values()].filter((r) => r.phase !== 'draining' && r.phase !== 'stopped');
    for (let i = live.length; i < n; i++) this.#addReplica(key, rev);
    if (live.length > n) {
      const drainMs = rev.workload.timeoutSeconds * 1000;
      for (const victim of pickVictims(live, live.length - n)) void victim.stop(drainMs);
    }
    this.#emit(key, rev);
  }

  async remove(key: string): Promise<void> {
    const rev = this.#revisions.get(key);
    if (!rev) return;
    rev.removing = true;
    rev.desired = 0;
    const drainMs = rev.workload.timeoutSeconds * 1000;
    const groups = [...rev.replicas.values()].flatMap((r) => (r.pid !== undefined ? [r.pid] : []));
    await Promise.all([...rev.replicas.values()].map((r) => r.stop(drainMs)));
    // The group got SIGKILL when its leader exited; wait (bounded) until the kernel has really ended its members.
    await waitForGroupsGone(groups, GROUP_EXIT_WAIT_MS);
    this.#emit(key, rev);
    if (this.#revisions.get(key) === rev) this.#revisions.delete(key);
    this.#logs.forget(key);
  }

  status(key: string): RevisionRuntimeStatus | undefined {
    const rev = this.#revisions.get(key);
    return rev ? this.#status(rev) : undefined;
  }

  /** Per-replica detail of a revision (empty for unknown keys). */
  inspect(key: string): ReplicaInfo[] {
    const rev = this.#revisions.get(key);
    if (!rev) return [];
    return [...rev.replicas.values()].map((r) => {
      const info: ReplicaInfo = { id: r.id, phase: r.phase, restarts: r.restarts };
      if (r.pid !== undefined) info.pid = r.pid;
      if (r.port !== undefined) info.port = r.port;
      if (r.restartAt !== undefined) info.restartAt = r.restartAt;
      return info;
    });
  }

  onChange(listener: (key: string, status: RevisionRuntimeStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  logs(namespace: string, service: string): LogLine[] {
    return this.#logs.lines(LogStore.serviceKey(namespace, service));
  }

  followLogs(namespace: string, service: string, listener: (line: LogLine) => void): () => void {
    return this.#logs.follow(LogStore.serviceKey(namespace, service), listener);
  }

  /** Drains every replica (SIGTERM, SIGKILL after each revision's timeoutSeconds); resolves when all are gone. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await Promise.all([...this.#revisions.keys()].map((k) => this.remove(k)));
      await this.#state?.flush();
    })();
    return this.#closing;
  }

  get #self(): Promise<ProcessIdentity | undefined> {
    return (this.#selfIdentity ??= processStartTime(process.pid).then((startTime) => (startTime === undefined ? undefined : { pid: process.pid, startTime })));
  }

  #addReplica(key: string, rev: RevisionEntry): void {
    const seq = rev.nextSeq++;
    const replica = new Replica({
      id: `${rev.workload.revision}-${seq}`,
      seq,
      workload: rev.workload,
      clock: this.#clock,
      host: this.#host,
      probeIntervalMs: this.#probeIntervalMs,
      backoff: this.#backoff,
      parentEnv: this.#env,
      events: this.#eventsFor(key, rev),
      expectedStart: () => startRange(rev.startsMs),
    });
    rev.replicas.set(replica.id, replica);
    replica.start();
  }

  #eventsFor(key: string, rev: RevisionEntry): ReplicaEvents {
    return {
      changed: (r) => {
        if (r.phase === 'stopped') rev.replicas.delete(r.id);
        if (r.phase === 'ready' && !rev.unrunnable) delete rev.failure;
        if (r.phase === 'ready' && r.lastStartMs !== undefined) {
          rev.startsMs.push(r.lastStartMs);
          if (rev.startsMs.length > START_HISTORY) rev.startsMs.shift();
        }
        this.#emit(key, rev);
      },
      failed: (r, failure) => {
        rev.failure = failure;
        this.#logger.warn(`replica ${r.id} of ${key} failed: ${failure.reason}: ${failure.message.split('\n').at(-1) ?? ''}`);
        this.#emit(key, rev);
      },
      stalled: (r, failure) => {
        // A revision with a ready replica still serves: only one that cannot start at all fails.
        if ([...rev.replicas.values()].some((x) => x.phase === 'ready')) return;
        rev.failure = failure;
        this.#logger.warn(`replica ${r.id} of ${key}: ${failure.reason}: ${failure.message}`);
        this.#emit(key, rev);
      },
      restarting: () => {
        rev.restarts += 1;
        this.#emit(key, rev);
      },
      log: (r, stream, line) => {
        this.#logs.add(key, rev.serviceKey, { time: this.#clock.now(), revision: rev.workload.revision, replica: r.id, stream, line });
      },
      spawned: (r, pid, port) => {
        this.#logger.info(`replica ${r.id} of ${key} started: pid ${pid}${port !== undefined ? `, port ${port}` : ''}`);
        const state = this.#state;
        if (!state) return;
        void Promise.all([processStartTime(pid), this.#self]).then(([startTime, owner]) => {
          // Record only if that process is still this replica's: the exit may have raced the /proc read.
          if (startTime === undefined || r.pid !== pid) return;
          state.add({ pid, startTime, revision: key, replica: r.id, ...(owner !== undefined ? { owner } : {}) });
        });
      },
      exited: (r) => this.#state?.delete(r.id),
    };
  }

  #status(rev: RevisionEntry): RevisionRuntimeStatus {
    const ready: ReplicaEndpoint[] = [];
    let starting = 0;
    let running = 0;
    for (const r of rev.replicas.values()) {
      if (r.phase === 'ready' && r.port !== undefined) ready.push({ id: r.id, host: this.#host, port: r.port });
      else if (r.phase === 'ready') running += 1;
      else if (isStarting(r.phase)) starting += 1;
    }
    const status: RevisionRuntimeStatus = { desired: rev.desired, ready, starting, restarts: rev.restarts };
    if (rev.workload.listens === false) status.running = running;
    if (rev.failure) status.failure = { ...rev.failure };
    return status;
  }

  /** Tells listeners when the status differs from what they last saw. */
  #emit(key: string, rev: RevisionEntry): void {
    if (this.#revisions.get(key) !== rev) return;
    const status = this.#status(rev);
    const sig = JSON.stringify(status);
    if (sig === rev.lastEmitted) return;
    rev.lastEmitted = sig;
    for (const l of this.#listeners) {
      try {
        l(key, this.#status(rev));
      } catch (err) {
        this.#warnListener(err);
      }
    }
  }

  #warnListener(err: unknown): void {
    this.#logger.warn(`local runtime listener threw: ${err instanceof Error ? err.message : String(err)}`);
  }
}
