import type { Container } from '../api/types.js';

/** Everything a runtime needs to run replicas of one revision. Immutable once deployed. */
export interface RevisionWorkload {
  /** `<namespace>/<revision>`: the key every component uses for a revision. */
  key: string;
  namespace: string;
  service: string;
  configuration: string;
  revision: string;
  /** The Revision object's uid: a runtime that creates API objects (Kubernetes) owns them by it, for garbage collection. */
  revisionUid?: string;
  /** The Revision's labels and annotations, carried onto the workload's objects (pod template) as Knative does. */
  labels?: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>>;
  container: Container;
  /** Every container of the revision, `container` first (sidecars after it); a Kubernetes pod runs them all. */
  containers?: readonly Container[];
  /** Folder that relative `workingDir` (and the working directory when unset) resolve against. */
  baseDir: string;
  /** Drain budget on scale-down (the revision's timeoutSeconds). */
  timeoutSeconds: number;
  /**
   * `false`: the workload serves nothing (e.g. a ContainerSource's process): it gets no `$PORT` and no
   * `K_SERVICE`/`K_CONFIGURATION`/`K_REVISION`, has no readiness probe, and a replica counts as running once it is
   * spawned and alive (see `RevisionRuntimeStatus.running`). Default `true`.
   */
  listens?: boolean;
  /**
   * Knative's progress deadline: a replica alive but not ready this long after its process started fails the revision
   * with `ProgressDeadlineExceeded` (it keeps running; becoming ready clears the failure). Unset: no deadline.
   */
  progressDeadlineSeconds?: number;
  /** Environment set after the container's `env`, winning over it (e.g. a source's `K_SINK`, as Knative injects it). */
  env?: Readonly<Record<string, string>>;
}

export interface ReplicaEndpoint {
  id: string;
  host: string;
  port: number;
}

/** Why a revision cannot run, e.g. `{reason: 'ExitCode1', message: '...'}` or `ImageNotRunnableLocally`. */
export interface RevisionFailure {
  reason: string;
  message: string;
}

export interface RevisionRuntimeStatus {
  /** Replicas asked for by the last scale() call. */
  desired: number;
  /** Replicas that passed their readiness probe and are not draining. */
  ready: ReplicaEndpoint[];
  /** Replicas spawned but not ready yet (including restarting ones). */
  starting: number;
  /** Set while the revision cannot start (bad command, crash loop, image only); cleared when a replica becomes ready. */
  failure?: RevisionFailure;
  /** Total restarts of crashed replicas. */
  restarts: number;
  /** Only for a workload that does not listen (`listens: false`): replicas spawned and alive (they have no endpoint). */
  running?: number;
}

export interface LogLine {
  /** ms since epoch */
  time: number;
  revision: string;
  replica: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** The narrow interface the autoscaler needs. */
export interface WorkloadScaler {
  scale(key: string, replicas: number): void;
}

/** Local processes (embedded default) or Kubernetes Deployments. */
export interface WorkloadRuntime extends WorkloadScaler {
  /** Registers a revision with 0 replicas. Deploying an already-known key is a no-op. */
  deploy(workload: RevisionWorkload): void;
  /** Stops every replica of the revision (SIGTERM, drain, SIGKILL) and forgets it. */
  remove(key: string): Promise<void>;
  status(key: string): RevisionRuntimeStatus | undefined;
  /**
   * The replica count a revision's workload had when this runtime found it already running (Kubernetes: the
   * Deployment's replicas at the first deploy() after a restart); undefined when this runtime started it or does not
   * outlive its process (local processes). The autoscaler resumes from it.
   */
  observedScale?(key: string): number | undefined;
  /** Called whenever a revision's status changes (replica ready, exited, failed, scaled). */
  onChange(listener: (key: string, status: RevisionRuntimeStatus) => void): () => void;
  /** Recent log lines of every revision of a service, oldest first. */
  logs(namespace: string, service: string): LogLine[];
  /** Live log lines of a service until the returned function is called. */
  followLogs(namespace: string, service: string, listener: (line: LogLine) => void): () => void;
  /** Stops every replica and releases resources. */
  close(): Promise<void>;
}
