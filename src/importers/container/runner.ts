/**
 * Runs one ContainerSource's process on a workload runtime (the local runtime: spawn, restart with back-off, logs,
 * orphan reaping, SIGTERM then SIGKILL): deploys it as a workload that does not listen (no `$PORT`, no readiness
 * probe), scales it to one replica, reports its health, and removes it on stop. Each runner deploys under its own
 * key, so a restarted source (new sink) never waits for the old process to finish draining.
 */
import type { LogLine, RevisionRuntimeStatus, RevisionWorkload } from '../../runtime/types.js';
import type { DeployState } from '../status.js';
import { containerHealth } from './health.js';
import type { ContainerRunSpec } from './plan.js';

/** What a ContainerSource runner needs of a runtime; LocalRuntime fits. */
export interface ContainerWorkloads {
  deploy(workload: RevisionWorkload): void;
  scale(key: string, replicas: number): void;
  remove(key: string): Promise<void>;
  status(key: string): RevisionRuntimeStatus | undefined;
  onChange(listener: (key: string, status: RevisionRuntimeStatus) => void): () => void;
  followLogs(namespace: string, service: string, listener: (line: LogLine) => void): () => void;
  /** Per-replica detail; the runner reads the pid of its process from it. */
  inspect(key: string): { pid?: number }[];
}

export interface ContainerSourceRunnerOptions {
  spec: ContainerRunSpec;
  /** Unique per runner, e.g. `default/heartbeat#3`. */
  workloadKey: string;
  /** Unique per runner (the workload's revision name: replica ids and log lines carry it), e.g. `heartbeat-3`. */
  workloadName: string;
  runtime: ContainerWorkloads;
  /** Called when health() changes. */
  requeue: () => void;
  /** Every line the process writes. */
  onLog?: (stream: LogLine['stream'], line: string) => void;
  /** The process could not be removed cleanly. */
  onError?: (err: unknown) => void;
}

type RunnerState = 'new' | 'running' | 'stopped';

export class ContainerSourceRunner {
  readonly #o: ContainerSourceRunnerOptions;
  #state: RunnerState = 'new';
  #health: DeployState;
  #healthSig: string;
  #unsubscribe: (() => void) | undefined;
  #unfollow: (() => void) | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: ContainerSourceRunnerOptions) {
    this.#o = options;
    this.#health = containerHealth(undefined);
    this.#healthSig = JSON.stringify(this.#health);
  }

  get spec(): ContainerRunSpec {
    return this.#o.spec;
  }

  /** The runtime key the process runs under. */
  get workloadKey(): string {
    return this.#o.workloadKey;
  }

  /** The pid of the process while one is alive. */
  get pid(): number | undefined {
    return this.#o.runtime.inspect(this.#o.workloadKey).find((r) => r.pid !== undefined)?.pid;
  }

  /** The workload this runner deploys (pure). */
  workload(): RevisionWorkload {
    const { spec, workloadKey, workloadName } = this.#o;
    return {
      key: workloadKey,
      namespace: spec.namespace,
      // Logs are kept per `service`: every runner of one source shares its name, so `wisp logs containersource
      // <name>` shows them all; the revision (and the replica ids named after it) stays unique per runner.
      service: spec.name,
      configuration: spec.name,
      revision: workloadName,
      container: spec.container,
      baseDir: spec.baseDir,
      timeoutSeconds: spec.graceSeconds,
      listens: false,
      env: spec.env,
    };
  }

  start(): void {
    if (this.#state !== 'new') throw new Error(`ContainerSource ${this.#o.spec.namespace}/${this.#o.spec.name}: runner cannot start when ${this.#state}`);
    this.#state = 'running';
    const { runtime, workloadKey: key, spec, onLog } = this.#o;
    const w = this.workload();
    this.#unsubscribe = runtime.onChange((k, status) => {
      if (k === key) this.#update(status);
    });
    if (onLog) {
      this.#unfollow = runtime.followLogs(spec.namespace, w.service, (l) => {
        // A predecessor still draining writes under the same service name: only this runner's own lines.
        if (l.revision === w.revision) onLog(l.stream, l.line);
      });
    }
    runtime.deploy(w);
    runtime.scale(key, 1);
    this.#update(runtime.status(key));
  }

  /** The `Deployed` state: running once spawned and alive; the crash reason while it crash-loops. */
  health(): DeployState {
    return this.#health;
  }

  /** Stops the process (SIGTERM, SIGKILL after `graceSeconds`); see stopped(). */
  stop(): void {
    if (this.#state === 'stopped') return;
    const started = this.#state === 'running';
    this.#state = 'stopped';
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (!started) {
      this.#stopped = Promise.resolve();
      return;
    }
    // Keep following the logs until the process is gone: its last lines (shutting down) are worth seeing.
    this.#stopped = this.#o.runtime
      .remove(this.#o.workloadKey)
      .catch((err: unknown) => this.#o.onError?.(err))
      .finally(() => {
        this.#unfollow?.();
        this.#unfollow = undefined;
      });
  }

  /** Resolves once a stopped runner's process (and its process group) is gone. */
  stopped(): Promise<void> {
    return this.#stopped ?? Promise.resolve();
  }

  #update(status: RevisionRuntimeStatus | undefined): void {
    if (this.#state !== 'running') return;
    const health = containerHealth(status);
    const sig = JSON.stringify(health);
    if (sig === this.#healthSig) return;
    this.#health = health;
    this.#healthSig = sig;
    this.#o.requeue();
  }
}
