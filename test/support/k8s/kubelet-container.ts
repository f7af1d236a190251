/**
 * One container of a Pod on the test kubelet: its process, restarts with crash-loop back-off, probes, and stop.
 *
 * States (what `view()` reports, as the real kubelet's containerStatuses):
 *   waiting ContainerCreating → running → (exit) → waiting CrashLoopBackOff → running → ...   (restart policy allows)
 *                                       → (exit) → terminated                                  (it does not, or stopping)
 *   waiting ErrImagePull ⇄ ImagePullBackOff, waiting CreateContainerConfigError: retried with back-off.
 * A container's process runs in its own process group; when its main process exits, the rest of the group is
 * killed too (a container ends with its PID 1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, openSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { V1Container, V1LifecycleHandler, V1Pod, V1Probe } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../../src/clock.js';
import type { PodNetwork } from './netns.js';
import { execWithTimeout, probeTiming, ProbeTracker, runProbe } from './kubelet-probe.js';
import type { ResolvedContainer, ResolveResult } from './kubelet-spec.js';
import { backoffDelay, shouldRestart, type ContainerState, type ContainerView, type RestartPolicy, type Terminated } from './kubelet-status.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface ContainerRunnerOptions {
  pod: V1Pod;
  container: V1Container;
  /** The Pod's network; asked for only once the container starts (the network is made after the Pod is seen). */
  network(): PodNetwork;
  restartPolicy: RestartPolicy;
  /** An init container with restartPolicy Always. */
  sidecar?: boolean;
  /** Resolved again before every start: a ConfigMap created later lets a waiting container start. */
  resolve(): Promise<ResolveResult>;
  clock: Clock;
  backoff: Backoff;
  probeMaxPeriodMs?: number;
  logDir: string;
  /** Env added to every process (the kubelet's claim marker). */
  extraEnv: Readonly<Record<string, string>>;
  /** restartCount to start from (a Pod this node ran before the kubelet restarted). */
  initialRestartCount: number;
  onChange(): void;
  log(line: string): void;
}

export interface ContainerInfo {
  name: string;
  pid?: number;
  state: ContainerState['kind'];
  reason?: string;
  restartCount: number;
  ready: boolean;
  /** The current (or last) instance's stdout+stderr file. */
  logFile?: string;
}

function signalNumber(signal: NodeJS.Signals | null): number | undefined {
  if (!signal) return undefined;
  const n = (osConstants.signals as Record<string, number | undefined>)[signal];
  return n;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

/** Where `file` resolves in `PATH` (or relative to cwd), or undefined when not an executable file. */
export function findExecutable(file: string, pathEnv: string, cwd: string): string | undefined {
  const candidates = file.includes('/') ? [isAbsolute(file) ? file : join(cwd, file)] : pathEnv.split(':').filter(Boolean).map((d) => join(d, file));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

export class ContainerRunner {
  readonly name: string;
  readonly #o: ContainerRunnerOptions;
  #state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
  #lastTerminated: Terminated | undefined;
  #restartCount: number;
  #ready = false;
  #started = false;
  #child: ChildProcess | undefined;
  #containerID: string | undefined;
  #instance = 0;
  #logFile: string | undefined;
  #timers = new Set<Timer>();
  #stopping = false;
  #launched = false;
  #failures = 0;
  #lastExitAt = 0;
  #exited: Promise<void> = Promise.resolve();
  #resolved: ResolvedContainer | undefined;

  constructor(opts: ContainerRunnerOptions) {
    this.#o = opts;
    this.name = opts.container.name;
    this.#restartCount = opts.initialRestartCount;
  }

  view(): ContainerView {
    return {
      name: this.name,
      image: this.#o.container.image ?? '',
      ...(this.#containerID ? { containerID: this.#containerID } : {}),
      state: this.#state,
      ...(this.#lastTerminated ? { lastTerminated: this.#lastTerminated } : {}),
      restartCount: this.#restartCount,
      ready: this.#ready,
      started: this.#started,
      ...(this.#o.sidecar ? { sidecar: true } : {}),
    };
  }

  /** start() was called. */
  get launched(): boolean {
    return this.#launched;
  }

  info(): ContainerInfo {
    return {
      name: this.name,
      ...(this.#child?.pid !== undefined && this.#state.kind === 'running' ? { pid: this.#child.pid } : {}),
      state: this.#state.kind,
      ...(this.#state.kind === 'waiting' || this.#state.kind === 'terminated' ? { reason: this.#state.reason } : {}),
      restartCount: this.#restartCount,
      ready: this.#ready,
      ...(this.#logFile ? { logFile: this.#logFile } : {}),
    };
  }

  /** The log file of instance `current - back` (0 = current). */
  logFile(back = 0): string | undefined {
    const n = this.#instance - back;
    return n >= 1 ? join(this.#o.logDir, `${this.name}-${n}.log`) : undefined;
  }

  start(): void {
    if (this.#launched) return;
    this.#launched = true;
    void this.#tryStart();
  }

  #set(state: ContainerState): void {
    this.#state = state;
    this.#o.onChange();
  }

  #after(ms: number, fn: () => void): void {
    const t = this.#o.clock.setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#stopping) fn();
    }, ms);
    this.#timers.add(t);
  }

  #cancelTimers(): void {
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
  }

  #nextDelay(): number {
    const now = this.#o.clock.now();
    if (this.#lastExitAt > 0 && now - this.#lastExitAt > 2 * this.#o.backoff.maxMs) this.#failures = 0;
    this.#failures++;
    return backoffDelay(this.#failures, this.#o.backoff);
  }

  async #tryStart(): Promise<void> {
    if (this.#stopping) return;
    let r: ResolveResult;
    try {
      r = await this.#o.resolve();
    } catch (err) {
      r = { ok: false, waiting: { reason: 'CreateContainerConfigError', message: (err as Error).message } };
    }
    if (this.#stopping) return;
    if (!r.ok) {
      const delay = this.#nextDelay();
      this.#set({ kind: 'waiting', reason: r.waiting.reason, message: r.waiting.message });
      if (r.waiting.reason === 'ErrImagePull') {
        this.#after(Math.min(delay, this.#o.backoff.initialMs), () =>
          this.#set({ kind: 'waiting', reason: 'ImagePullBackOff', message: `Back-off pulling image "${this.#o.container.image ?? ''}"` }),
        );
      }
      this.#after(delay, () => void this.#tryStart());
      return;
    }
    this.#spawn(r.value);
  }

  #spawn(rc: ResolvedContainer): void {
    this.#resolved = rc;
    const now = this.#o.clock.now();
    this.#instance++;
    const uid = (this.#o.pod.metadata?.uid ?? '').slice(0, 8);
    const containerID = `testkubelet://${uid}-${this.name}-${this.#instance}`;
    const startError = (message: string): void => {
      this.#containerID = containerID;
      this.#onExit({ exitCode: 128, reason: 'StartError', message, startedAt: now, finishedAt: now, containerID });
    };
    const exe = findExecutable(rc.command, rc.env.PATH ?? '', rc.workingDir);
    if (!exe) return startError(`exec: "${rc.command}": executable file not found in $PATH`);
    try {
      if (!statSync(rc.workingDir).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      return startError(`chdir to cwd ("${rc.workingDir}") set in config.json failed: ${(err as Error).message}`);
    }
    this.#logFile = join(this.#o.logDir, `${this.name}-${this.#instance}.log`);
    const fd = openSync(this.#logFile, 'a');
    const wrapped = this.#o.network().wrap(rc.command, rc.args);
    let child: ChildProcess;
    try {
      child = spawn(wrapped.file, wrapped.args, { env: { ...rc.env, ...this.#o.extraEnv }, cwd: rc.workingDir, detached: true, stdio: ['ignore', fd, fd] });
    } catch (err) {
      closeSync(fd);
      return startError((err as Error).message);
    }
    closeSync(fd); // the child holds its own copy
    this.#child = child;
    this.#containerID = containerID;
    let resolveExited!: () => void;
    this.#exited = new Promise((r) => (resolveExited = r));
    let done = false;
    const finish = (t: Terminated): void => {
      if (done) return;
      done = true;
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      this.#child = undefined;
      this.#onExit(t);
      resolveExited();
    };
    child.once('error', (err) => finish({ exitCode: 128, reason: 'StartError', message: err.message, startedAt: now, finishedAt: this.#o.clock.now(), containerID }));
    child.once('exit', (code, signal) => {
      const sig = signalNumber(signal);
      const exitCode = code ?? (sig !== undefined ? 128 + sig : 1);
      finish({
        exitCode,
        ...(sig !== undefined ? { signal: sig } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: now,
        finishedAt: this.#o.clock.now(),
        containerID,
      });
    });
    this.#o.log(`test kubelet: ${this.#podKey()} container ${this.name} started pid ${child.pid ?? '?'}: ${[rc.command, ...rc.args].join(' ').slice(0, 160)}`);
    this.#ready = false;
    this.#started = false;
    this.#set({ kind: 'running', startedAt: now });
    this.#startProbes(this.#instance);
  }

  #podKey(): string {
    return `${this.#o.pod.metadata?.namespace ?? 'default'}/${this.#o.pod.metadata?.name ?? ''}`;
  }

  #onExit(t: Terminated): void {
    this.#ready = false;
    this.#lastExitAt = t.finishedAt;
    this.#cancelTimers();
    this.#o.log(`test kubelet: ${this.#podKey()} container ${this.name} exited ${t.exitCode} (${t.reason})${t.message ? `: ${t.message}` : ''}`);
    if (this.#stopping || !shouldRestart(this.#o.restartPolicy, t.exitCode)) {
      this.#set({ kind: 'terminated', ...t });
      return;
    }
    this.#lastTerminated = t;
    this.#restartCount++;
    const delay = this.#nextDelay();
    const pod = this.#o.pod.metadata;
    this.#set({
      kind: 'waiting',
      reason: 'CrashLoopBackOff',
      message: `back-off ${Math.ceil(delay / 1000)}s restarting failed container=${this.name} pod=${pod?.name ?? ''}_${pod?.namespace ?? 'default'}(${pod?.uid ?? ''})`,
    });
    this.#after(delay, () => void this.#tryStart());
  }

  #startProbes(instance: number): void {
    const c = this.#o.container;
    const live = (): boolean => !this.#stopping && this.#instance === instance && this.#state.kind === 'running';
    const target = {
      podIP: this.#o.network().ip,
      container: c,
      exec: (file: string, args: readonly string[], timeoutMs: number) =>
        execWithTimeout(this.#o.network().wrap(file, args), { ...(this.#resolved?.env ?? {}), ...this.#o.extraEnv }, this.#resolved?.workingDir ?? process.cwd(), timeoutMs),
    };
    /** Probes every period after the initial delay while `onResult` says to go on. */
    const loop = (probe: V1Probe, initial: boolean, onResult: (tracker: ProbeTracker, message: string) => boolean): void => {
      const timing = probeTiming(probe, this.#o.probeMaxPeriodMs);
      const tracker = new ProbeTracker(timing, initial);
      const tick = async (): Promise<void> => {
        if (!live()) return;
        const out = await runProbe(probe, target, timing.timeoutMs);
        if (!live()) return;
        tracker.record(out.ok);
        if (onResult(tracker, out.message)) this.#after(timing.periodMs, () => void tick());
      };
      this.#after(timing.initialDelayMs, () => void tick());
    };
    const graceOf = (probe: V1Probe): number => (probe.terminationGracePeriodSeconds ?? this.#o.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    const afterStarted = (): void => {
      this.#started = true;
      if (c.readinessProbe) {
        loop(c.readinessProbe, false, (tracker) => {
          if (tracker.result !== this.#ready) {
            this.#ready = tracker.result;
            this.#o.onChange();
          }
          return true;
        });
      } else {
        this.#ready = true;
      }
      const liveness = c.livenessProbe;
      if (liveness) {
        loop(liveness, true, (tracker, message) => {
          if (tracker.result) return true;
          this.#o.log(`test kubelet: ${this.#podKey()} container ${this.name} failed liveness probe, will be restarted: ${message}`);
          void this.#kill(graceOf(liveness));
          return false;
        });
      }
      this.#o.onChange();
    };
    const startup = c.startupProbe;
    if (!startup) return afterStarted();
    loop(startup, false, (tracker, message) => {
      if (tracker.result) {
        afterStarted();
        return false;
      }
      if (tracker.failuresInARow < probeTiming(startup).failureThreshold) return true;
      this.#o.log(`test kubelet: ${this.#podKey()} container ${this.name} failed startup probe, will be restarted: ${message}`);
      void this.#kill(graceOf(startup));
      return false;
    });
  }

  /** SIGTERM to the container's process group, SIGKILL after `graceMs`; resolves once the process is gone. */
  async #kill(graceMs: number): Promise<void> {
    const child = this.#child;
    if (!child || child.pid === undefined) return;
    const pid = child.pid;
    const exited = this.#exited;
    killGroup(pid, 'SIGTERM');
    const t = this.#o.clock.setTimeout(() => killGroup(pid, 'SIGKILL'), Math.max(0, graceMs));
    await exited;
    t.cancel();
  }

  async #preStop(handler: V1LifecycleHandler, graceMs: number): Promise<void> {
    if (!this.#child) return;
    const timeout = Math.max(0, graceMs);
    if (handler.exec?.command?.[0]) {
      const [file, ...args] = handler.exec.command;
      await execWithTimeout(this.#o.network().wrap(file, args), { ...(this.#resolved?.env ?? {}), ...this.#o.extraEnv }, this.#resolved?.workingDir ?? process.cwd(), timeout);
    } else if (handler.httpGet) {
      await runProbe({ httpGet: handler.httpGet }, { podIP: this.#o.network().ip, container: this.#o.container, exec: async () => ({ code: 1, output: '' }) }, timeout);
    } else if (handler.sleep) {
      const ms = Math.min(timeout, handler.sleep.seconds * 1000);
      await new Promise<void>((r) => this.#o.clock.setTimeout(r, ms));
    }
  }

  /**
   * Stops the container for good (Pod deletion or kubelet stop): no restart, preStop hook, SIGTERM, SIGKILL once
   * `graceMs` has passed since the stop began. A container that never ran keeps its waiting state.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return this.#exited;
    this.#stopping = true;
    this.#cancelTimers();
    const started = this.#o.clock.now();
    const preStop = this.#o.container.lifecycle?.preStop;
    if (preStop && this.#child) await this.#preStop(preStop, graceMs);
    await this.#kill(graceMs - (this.#o.clock.now() - started));
  }

  /** SIGKILL now, synchronously (the test process is exiting). */
  killNow(): void {
    this.#stopping = true;
    this.#cancelTimers();
    if (this.#child?.pid !== undefined) killGroup(this.#child.pid, 'SIGKILL');
  }
}
