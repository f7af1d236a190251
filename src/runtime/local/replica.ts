import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Clock, Timer } from '../../clock.js';
import type { LogLine, RevisionFailure, RevisionWorkload } from '../types.js';
import { onExit, type BackoffConfig, type BackoffState } from './backoff.js';
import { failureFor, type ExitInfo } from './failure.js';
import { groupListeningPorts, progressDeadlineFailure } from './listening.js';
import { LineSplitter } from './logs.js';
import { probeTarget, probeTimeoutMs, runProbe } from './probe.js';
import { nextProbeDelay, PROBE_LADDER_FIRST_MS, type StartRange } from './probe-schedule.js';
import { freePort, killGroup } from './proc.js';
import { assertTransition, type ReplicaPhase } from './replica-state.js';
import { planSpawn } from './spawn-plan.js';

export interface ReplicaEvents {
  /** Any phase change (ready, exited, stopped...). */
  changed(r: Replica): void;
  failed(r: Replica, failure: RevisionFailure): void;
  /** The process is alive but not ready past the workload's progress deadline (it keeps running and probing). */
  stalled(r: Replica, failure: RevisionFailure): void;
  restarting(r: Replica): void;
  log(r: Replica, stream: LogLine['stream'], line: string): void;
  /** `port` is undefined for a workload that does not listen. */
  spawned(r: Replica, pid: number, port: number | undefined): void;
  exited(r: Replica, pid: number): void;
}

export interface ReplicaOptions {
  id: string;
  seq: number;
  workload: RevisionWorkload;
  clock: Clock;
  host: string;
  probeIntervalMs: number;
  backoff: BackoffConfig;
  parentEnv: NodeJS.ProcessEnv;
  events: ReplicaEvents;
  /** The revision's recent starts (probing start to ready), read when probing starts; probing is dense around them. */
  expectedStart?: () => StartRange | undefined;
}

/** How long to wait for stdout/stderr to close after the process exited (a child that escaped the group may hold them). */
const STDIO_CLOSE_GRACE_MS = 1000;
const STDERR_TAIL_LINES = 20;

/** One replica slot of a revision: runs, probes, restarts (with back-off) and drains one process at a time. */
export class Replica {
  readonly id: string;
  readonly seq: number;
  #phase: ReplicaPhase = 'pending';
  #port: number | undefined;
  #pid: number | undefined;
  #readySince: number | undefined;
  #lastStartMs: number | undefined;
  #restartAt: number | undefined;
  #restarts = 0;
  #backoff: BackoffState = { attempt: 0 };
  #stderrTail: string[] = [];
  #timers = new Set<Timer>();
  #probeTimer: Timer | undefined;
  #probeAbort: AbortController | undefined;
  #restartTimer: Timer | undefined;
  #deadlineTimer: Timer | undefined;
  #stopped: Promise<void>;
  #resolveStopped!: () => void;
  readonly #o: ReplicaOptions;

  constructor(opts: ReplicaOptions) {
    this.#o = opts;
    this.id = opts.id;
    this.seq = opts.seq;
    this.#stopped = new Promise((r) => (this.#resolveStopped = r));
  }

  get phase(): ReplicaPhase {
    return this.#phase;
  }
  get port(): number | undefined {
    return this.#port;
  }
  get pid(): number | undefined {
    return this.#pid;
  }
  get restarts(): number {
    return this.#restarts;
  }
  get restartAt(): number | undefined {
    return this.#restartAt;
  }
  /** How long the last start took, probing start to ready (ms); undefined before the first ready. */
  get lastStartMs(): number | undefined {
    return this.#lastStartMs;
  }

  /** Starts the first process (phase pending). */
  start(): void {
    this.#launchSafely();
  }

  /** A bug in launching must not become an unhandled rejection: it is reported as the revision's failure. */
  #launchSafely(): void {
    this.#launch().catch((err: unknown) => {
      this.#o.events.failed(this, { reason: 'SpawnError', message: err instanceof Error ? err.message : String(err) });
    });
  }

  /** Stops this replica: SIGTERM to its process group, SIGKILL after `drainMs`. Resolves when no process is left. */
  stop(drainMs: number): Promise<void> {
    switch (this.#phase) {
      case 'pending':
      case 'backoff':
        this.#clearRestart();
        this.#to('stopped');
        this.#dispose();
        break;
      case 'starting':
      case 'ready':
        this.#stopProbing();
        this.#to('draining');
        if (this.#pid !== undefined) killGroup(this.#pid, 'SIGTERM');
        this.#after(Math.max(0, drainMs), () => {
          if (this.#pid !== undefined) killGroup(this.#pid, 'SIGKILL');
        });
        break;
      case 'draining':
      case 'stopped':
        break;
    }
    return this.#stopped;
  }

  #to(next: ReplicaPhase): void {
    assertTransition(this.id, this.#phase, next);
    this.#phase = next;
    this.#o.events.changed(this);
  }

  #after(ms: number, fn: () => void): Timer {
    const t = this.#o.clock.setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  async #launch(): Promise<void> {
    const { workload, host } = this.#o;
    const listens = workload.listens !== false;
    const plan = (p: number | undefined): ReturnType<typeof planSpawn> => planSpawn(workload, p, this.#o.parentEnv);
    // The port and the working directory are looked up at once: both sit on the path of a scale from zero.
    const cwd = plan(undefined).cwd;
    const [portResult, cwdOk] = await Promise.all([
      listens ? freePort(host).then((p) => ({ port: p }), (err: unknown) => ({ err })) : Promise.resolve({ port: undefined }),
      stat(cwd).then(
        (s) => s.isDirectory(),
        () => false,
      ),
    ]);
    if (this.#phase !== 'pending') return;
    if ('err' in portResult) return this.#ended({ kind: 'spawn-error', errno: 'EADDRNOTAVAIL', message: String(portResult.err) }, undefined);
    const port = portResult.port;
    if (!cwdOk) return this.#ended({ kind: 'missing-cwd', cwd }, undefined);
    const spawnPlan = plan(port);

    this.#port = port;
    this.#stderrTail = [];
    let child: ChildProcess;
    try {
      child = spawn(spawnPlan.file, spawnPlan.args, { cwd: spawnPlan.cwd, env: spawnPlan.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return this.#ended({ kind: 'spawn-error', errno: e.code ?? 'UNKNOWN', message: e.message }, spawnPlan.file);
    }
    this.#pid = child.pid;
    this.#to('starting');
    if (child.pid !== undefined) this.#o.events.spawned(this, child.pid, port);
    this.#watch(child, spawnPlan.file);
    if (port !== undefined) {
      this.#startProbing(port);
      this.#watchDeadline(port);
    } else if (child.pid !== undefined) {
      // Nothing to probe: spawned and alive is running (an exit moves it to backoff as usual).
      this.#readySince = this.#o.clock.now();
      this.#to('ready');
    }
  }

  #watch(child: ChildProcess, command: string): void {
    const pid = child.pid;
    let done = false;
    const finish = (info: ExitInfo): void => {
      if (done) return;
      done = true;
      this.#ended(info, command, pid);
    };
    const pipe = (stream: NodeJS.ReadableStream | null, name: LogLine['stream']): LineSplitter => {
      const split = new LineSplitter();
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.#lines(name, split.push(chunk)));
      stream?.on('error', () => undefined);
      return split;
    };
    const out = pipe(child.stdout, 'stdout');
    const err = pipe(child.stderr, 'stderr');
    let exitInfo: ExitInfo | undefined;
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (pid === undefined) finish({ kind: 'spawn-error', errno: e.code ?? 'UNKNOWN', message: e.message });
    });
    child.once('exit', (code, signal) => {
      exitInfo = signal !== null ? { kind: 'signal', signal } : { kind: 'exit', code: code ?? 0 };
      // Children the replica left behind die with it: never leave a process behind.
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      const grace = this.#after(STDIO_CLOSE_GRACE_MS, () => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        if (exitInfo) finish(exitInfo);
      });
      child.once('close', () => grace.cancel());
    });
    child.once('close', () => {
      this.#lines('stdout', out.flush());
      this.#lines('stderr', err.flush());
      if (exitInfo) finish(exitInfo);
    });
  }

  #lines(stream: LogLine['stream'], lines: string[]): void {
    for (const line of lines) {
      if (stream === 'stderr') {
        this.#stderrTail.push(line);
        if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
      }
      this.#o.events.log(this, stream, line);
    }
  }

  /** The process ended (or could not start). Draining: done. Otherwise: report the failure and restart with back-off. */
  #ended(info: ExitInfo, command: string | undefined, pid?: number): void {
    this.#stopProbing();
    if (pid !== undefined) this.#o.events.exited(this, pid);
    this.#pid = undefined;
    this.#port = undefined;
    if (this.#phase === 'draining') {
      this.#to('stopped');
      this.#dispose();
      return;
    }
    if (this.#phase === 'stopped') return;
    const now = this.#o.clock.now();
    const cmd = command ?? this.#o.workload.container.command?.[0] ?? '';
    const { delayMs, next } = onExit(this.#o.backoff, this.#backoff, now, this.#readySince);
    this.#backoff = next;
    this.#readySince = undefined;
    this.#restarts += 1;
    this.#restartAt = now + delayMs;
    this.#to('backoff');
    this.#o.events.failed(this, failureFor(info, cmd, this.#stderrTail));
    this.#o.events.restarting(this);
    this.#restartTimer = this.#after(delayMs, () => {
      this.#restartTimer = undefined;
      this.#restartAt = undefined;
      if (this.#phase !== 'backoff') return;
      this.#to('pending');
      this.#launchSafely();
    });
  }

  /** Terminal: cancel every timer this replica owns and release stop() waiters. */
  #dispose(): void {
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    this.#stopProbing();
    this.#resolveStopped();
  }

  #clearRestart(): void {
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    this.#restartAt = undefined;
  }

  /** Probes on the schedule of probe-schedule.ts (ladder, then dense around the revision's usual start, then the period). */
  #startProbing(port: number): void {
    const { clock, workload, host, probeIntervalMs } = this.#o;
    const probe = workload.container.readinessProbe;
    const target = probeTarget(probe, host, port);
    const timeoutMs = probeTimeoutMs(probe);
    const startedAt = clock.now() + Math.max(0, probe?.initialDelaySeconds ?? 0) * 1000;
    const schedule = { periodMs: probeIntervalMs, expected: this.#o.expectedStart?.() };
    const pid = this.#pid;
    let attempt = 0;
    const probeOnce = (): void => {
      this.#probeTimer = undefined;
      if (this.#phase !== 'starting' || this.#pid !== pid) return;
      attempt += 1;
      const abort = new AbortController();
      this.#probeAbort = abort;
      const timeout = this.#after(timeoutMs, () => abort.abort());
      void runProbe(target, abort.signal).then((ok) => {
        timeout.cancel();
        this.#timers.delete(timeout);
        if (this.#probeAbort === abort) this.#probeAbort = undefined;
        if (this.#phase !== 'starting' || this.#pid !== pid) return;
        if (!ok) return next();
        this.#stopProbing();
        const now = clock.now();
        this.#readySince = now;
        this.#lastStartMs = Math.max(0, now - startedAt);
        this.#to('ready');
      });
    };
    const next = (): void => {
      const now = clock.now();
      const delay = now < startedAt ? startedAt - now + PROBE_LADDER_FIRST_MS : nextProbeDelay(schedule, attempt, now - startedAt);
      this.#probeTimer = clock.setTimeout(probeOnce, delay);
    };
    next();
  }

  /** Progress deadline: still `starting` (alive, not ready) when it passes → `stalled`, naming the ports it listens on. */
  #watchDeadline(port: number): void {
    const seconds = this.#o.workload.progressDeadlineSeconds;
    const pid = this.#pid;
    if (seconds === undefined || !(seconds > 0) || pid === undefined) return;
    const deadlineMs = seconds * 1000;
    // A readinessProbe's initialDelaySeconds is waited out first: the deadline counts from when probing may start.
    const delayMs = Math.max(0, this.#o.workload.container.readinessProbe?.initialDelaySeconds ?? 0) * 1000;
    this.#deadlineTimer = this.#after(delayMs + deadlineMs, () => {
      this.#deadlineTimer = undefined;
      if (this.#phase !== 'starting' || this.#pid !== pid) return;
      void groupListeningPorts(pid).then((listening) => {
        if (this.#phase !== 'starting' || this.#pid !== pid) return;
        this.#o.events.stalled(this, progressDeadlineFailure({ port, deadlineMs, listening }));
      });
    });
  }

  #stopProbing(): void {
    this.#deadlineTimer?.cancel();
    this.#deadlineTimer = undefined;
    this.#probeTimer?.cancel();
    this.#probeTimer = undefined;
    this.#probeAbort?.abort();
    this.#probeAbort = undefined;
  }
}
