import type { KubeConfig, V1Deployment, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { sleep, systemClock, type Clock } from '../../clock.js';
import type { LogLine, RevisionFailure, RevisionRuntimeStatus, RevisionWorkload, WorkloadRuntime } from '../types.js';
import { apiError, httpStatusOf, makeClients, revisionSources, type KubeClients } from './api.js';
import { InitialSyncTimeoutError, KubernetesRuntimeClosedError, type KubernetesRuntimeError } from './errors.js';
import { KeyedWriter } from './keyed-writer.js';
import { buildService, deploymentName, parseRevisionKey, REVISION_LABEL, revisionKey, SERVICE_NAME_LABEL } from './objects.js';
import { deriveStatus } from './pod-status.js';
import { Reflector, type Listed, type ListWatchSource } from './reflector.js';
import { ensureDeployment, ensureService, revisionDeletions, writeScale } from './writes.js';

export interface KubernetesRuntimeLogger {
  info(m: string): void;
  warn(m: string): void;
}

export interface KubernetesRuntimeOptions {
  /** Where the API server is and who we are (`kc.loadFromDefault()`, `loadFromFile()` or in-cluster). */
  kubeConfig: KubeConfig;
  /** Timers of the retry and re-watch back-off. Default: the system clock. */
  clock?: Clock;
  logger?: KubernetesRuntimeLogger;
  /** Only this namespace is watched (and can be deployed to); default: every namespace. */
  namespace?: string;
  /** Every failed API call, list or watch (each is retried); also logged as a warning. */
  onError?: (err: KubernetesRuntimeError) => void;
  /** How long create() waits for the first lists before it fails. Default 30 000 ms. */
  initialSyncTimeoutMs?: number;
  /** Back-off of retried writes and re-watches: initialMs (200 writes, 500 watches) doubling up to maxMs (30 000). */
  backoff?: { initialMs?: number; maxMs?: number };
}

interface Entry {
  /** Set once deploy() was called in this process (an entry may exist for a Deployment found in the cluster). */
  workload?: RevisionWorkload;
  /** Replicas asked for by the last scale() in this process. */
  desired?: number;
  /** The count last written through the scale subresource. */
  sentReplicas?: number;
  /** The API refused the Deployment or Service. */
  apiFailure?: RevisionFailure;
  /** What the Pods/Deployment said last (kept until a replica is ready). */
  failure?: RevisionFailure;
  lastEmitted: string;
}

/** HTTP statuses that mean "the API server refuses this object" (the revision fails with DeploymentFailed). */
const REFUSED = new Set([400, 403, 422]);
const REMOVE_ATTEMPTS = 3;
const NOOP_LOGGER: KubernetesRuntimeLogger = { info: () => undefined, warn: () => undefined };
const ZERO: RevisionRuntimeStatus = Object.freeze({ desired: 0, ready: [], starting: 0, restarts: 0 });

function labelOf(obj: Listed & { metadata?: { labels?: Record<string, string> | undefined } | undefined }, label: string): string | undefined {
  const v = obj.metadata?.labels?.[label];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Runs each Revision as Kubernetes objects, through the API server only (@kubernetes/client-node): a Deployment
 * `<revision>-deployment` (created with 0 replicas; scale() writes its `scale` subresource) and a Service `<revision>`,
 * labelled as Knative labels them and owned by the Revision (`revisionUid`), so Kubernetes' garbage collector removes
 * them with it. status() reads list+watch caches of the revision's Pods, EndpointSlices and Deployment: `ready` are the
 * ready endpoints of its EndpointSlices, failures are read from Pods and the Deployment as Knative's revision
 * reconciler reads them (see pod-status.ts).
 *
 * What the cluster holds is the state: a restarted runtime finds its Deployments as they were, status() reports them
 * before deploy() is called again, deploy() of an existing Deployment keeps its replica count, and close() neither
 * scales nor deletes anything (Knative keeps the autoscaler's last decision).
 *
 * Logs: logs() and followLogs() return nothing in Kubernetes mode. They are synchronous over a buffer the embedded
 * runtime fills from its own processes; here the lines live in the kubelets, so buffering them would mean streaming
 * `pods/log` of every Pod all the time. Read them with
 * `kubectl logs -n <namespace> -l serving.knative.dev/service=<service> --all-containers --prefix` (`-f` to follow).
 */
export class KubernetesRuntime implements WorkloadRuntime {
  readonly #clients: KubeClients;
  readonly #clock: Clock;
  readonly #logger: KubernetesRuntimeLogger;
  readonly #onError: ((err: KubernetesRuntimeError) => void) | undefined;
  readonly #namespace: string | undefined;
  readonly #pods: Reflector<V1Pod>;
  readonly #slices: Reflector<V1EndpointSlice>;
  readonly #deployments: Reflector<V1Deployment>;
  readonly #deployWriter: KeyedWriter<RevisionWorkload>;
  readonly #scaleWriter: KeyedWriter<number>;
  readonly #entries = new Map<string, Entry>();
  /** Keys remove() was called for: status() forgets them though the watches may still show their objects. */
  readonly #removed = new Set<string>();
  readonly #removing = new Map<string, Promise<void>>();
  readonly #listeners = new Set<(key: string, status: RevisionRuntimeStatus) => void>();
  /** Extra listeners of reported errors (create() keeps the last one for its timeout message). */
  readonly #errorTaps = new Set<(err: KubernetesRuntimeError) => void>();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(opts: KubernetesRuntimeOptions) {
    this.#clients = makeClients(opts.kubeConfig);
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger ?? NOOP_LOGGER;
    this.#onError = opts.onError;
    this.#namespace = opts.namespace;
    const sources = revisionSources(this.#clients, this.#namespace);
    const backoff = { initialMs: opts.backoff?.initialMs ?? 500, maxMs: opts.backoff?.maxMs ?? 30_000 };
    const reflector = <T extends Listed>(source: ListWatchSource<T>, keyOf: (o: T) => string | undefined, after?: (keys: ReadonlySet<string>) => void) =>
      new Reflector<T>({
        source,
        clock: this.#clock,
        keyOf,
        backoff,
        onChange: (keys) => {
          after?.(keys);
          for (const k of keys) this.#refresh(k);
        },
        onError: (err, during) => this.#report(apiError(`${during} ${source.what}`, err)),
      });
    const podKey = (p: V1Pod): string | undefined => {
      const rev = labelOf(p, REVISION_LABEL);
      return rev === undefined ? undefined : revisionKey(p.metadata?.namespace ?? '', rev);
    };
    const sliceKey = (s: V1EndpointSlice): string | undefined => {
      const svc = labelOf(s, SERVICE_NAME_LABEL) ?? labelOf(s, REVISION_LABEL);
      return svc === undefined ? undefined : revisionKey(s.metadata?.namespace ?? '', svc);
    };
    const deploymentKey = (d: V1Deployment): string | undefined => {
      const rev = labelOf(d, REVISION_LABEL);
      return rev === undefined || d.metadata?.name !== deploymentName(rev) ? undefined : revisionKey(d.metadata.namespace ?? '', rev);
    };
    this.#pods = reflector<V1Pod>(sources.pods, podKey);
    this.#slices = reflector<V1EndpointSlice>(sources.slices, sliceKey);
    this.#deployments = reflector<V1Deployment>(sources.deployments, deploymentKey, (keys) => this.#deploymentsChanged(keys));
    const writerBackoff = { initialMs: opts.backoff?.initialMs ?? 200, maxMs: opts.backoff?.maxMs ?? 30_000 };
    this.#deployWriter = new KeyedWriter<RevisionWorkload>({
      clock: this.#clock,
      backoff: writerBackoff,
      write: (key, workload) => this.#ensure(key, workload),
      onError: (_key, err, attempt) => this.#report(apiError(`deploy`, err), attempt),
    });
    this.#scaleWriter = new KeyedWriter<number>({
      clock: this.#clock,
      backoff: writerBackoff,
      write: (key, n) => this.#writeScale(key, n),
      onError: (_key, err, attempt) => this.#report(apiError(`scale`, err), attempt),
    });
  }

  /**
   * Starts list+watch of the Pods, EndpointSlices and Deployments that carry `serving.knative.dev/revision` (in
   * `namespace`, or all) and resolves once each was listed. Rejects with InitialSyncTimeoutError (and stops) when the
   * lists do not succeed within `initialSyncTimeoutMs`; later the watches reconnect by themselves.
   */
  static async create(opts: KubernetesRuntimeOptions): Promise<KubernetesRuntime> {
    const rt = new KubernetesRuntime(opts);
    await rt.#start(opts.initialSyncTimeoutMs ?? 30_000);
    return rt;
  }

  async #start(timeoutMs: number): Promise<void> {
    const reflectors = [this.#pods, this.#slices, this.#deployments];
    let lastError: unknown;
    const unsubscribe = this.#onErrorTap((err) => (lastError = err));
    const abort = new AbortController();
    try {
      const synced = Promise.all(reflectors.map((r) => r.start())).then(() => true);
      const timedOut = sleep(this.#clock, timeoutMs, abort.signal).then(
        () => false,
        () => false,
      );
      if (!(await Promise.race([synced, timedOut]))) {
        const pending = reflectors.filter((r) => !r.synced).map((r) => r.what);
        await this.close();
        throw new InitialSyncTimeoutError(pending, timeoutMs, { cause: lastError });
      }
    } finally {
      abort.abort();
      unsubscribe();
    }
  }

  deploy(workload: RevisionWorkload): void {
    if (this.#closed) throw new KubernetesRuntimeClosedError(`deploy(${workload.key})`);
    const key = workload.key;
    // Deployed again while remove() runs: a fresh entry, whose writes wait for the removal to end (see #ensure).
    if (this.#removing.has(key)) this.#entries.set(key, { lastEmitted: '' });
    const entry = this.#entry(key);
    if (entry.workload) return;
    entry.workload = workload;
    this.#removed.delete(key);
    if (this.#namespace !== undefined && workload.namespace !== this.#namespace) {
      entry.apiFailure = {
        reason: 'NamespaceNotWatched',
        message: `revision ${key}: this runtime watches only namespace ${this.#namespace}`,
      };
    } else {
      this.#deployWriter.set(key, workload);
    }
    this.#refresh(key);
  }

  scale(key: string, replicas: number): void {
    if (this.#closed || !Number.isFinite(replicas) || this.#removed.has(key)) return;
    const entry = this.#entries.get(key);
    if (!entry?.workload && this.#deployments.byKey(key).length === 0) return;
    if (entry?.apiFailure?.reason === 'NamespaceNotWatched') return;
    const n = Math.max(0, Math.floor(replicas));
    const e = entry ?? this.#entry(key);
    e.desired = n;
    if (e.sentReplicas !== n || this.#scaleWriter.busy(key)) this.#scaleWriter.set(key, n);
    this.#refresh(key);
  }

  /** Deletes the Deployment and the Service (propagationPolicy Background: Kubernetes removes the Pods) and forgets the key. */
  remove(key: string): Promise<void> {
    const pending = this.#removing.get(key);
    if (pending) return pending;
    const p = this.#remove(key).finally(() => this.#removing.delete(key));
    this.#removing.set(key, p);
    return p;
  }

  async #remove(key: string): Promise<void> {
    this.#removed.add(key);
    const entry = this.#entries.get(key);
    await Promise.all([this.#deployWriter.forget(key), this.#scaleWriter.forget(key)]);
    // Listeners that saw the revision see it at zero last (as the embedded runtime's remove() ends).
    const seen = (entry?.lastEmitted ?? '') !== '';
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    const parsed = parseRevisionKey(key);
    if (!parsed) return;
    for (const { what, run } of revisionDeletions(this.#clients, parsed.namespace, parsed.revision)) {
      for (let attempt = 1; ; attempt++) {
        try {
          await run();
          break;
        } catch (err) {
          this.#report(apiError(what, err), attempt);
          if (attempt >= REMOVE_ATTEMPTS || this.#closed) break;
          await sleep(this.#clock, 200 * 2 ** (attempt - 1)).catch(() => undefined);
        }
      }
    }
    if (seen) this.#notify(key, { ...ZERO, ready: [] });
  }

  /**
   * Resolves when the writes asked for `key` so far (deploy, scale) have been done or have failed once (a failed one
   * is retried later). For tests and tools; the serving path never waits on it.
   */
  async settled(key: string): Promise<void> {
    await this.#deployWriter.idle(key);
    await this.#scaleWriter.idle(key);
  }

  status(key: string): RevisionRuntimeStatus | undefined {
    return this.#compute(key)?.status;
  }

  /**
   * The Deployment's replicas as found in the cluster, until this process scales the revision itself: a restarted
   * Wisp's autoscaler resumes from them instead of applying the initial scale again.
   */
  observedScale(key: string): number | undefined {
    if (this.#entries.get(key)?.desired !== undefined) return undefined;
    const d = this.#deployments.byKey(key)[0];
    return d?.spec?.replicas ?? undefined;
  }

  onChange(listener: (key: string, status: RevisionRuntimeStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Always empty in Kubernetes mode: use `kubectl logs -l serving.knative.dev/service=<service>` (see the class comment). */
  logs(_namespace: string, _service: string): LogLine[] {
    return [];
  }

  /** Never calls `listener` in Kubernetes mode: use `kubectl logs -f -l serving.knative.dev/service=<service>`. */
  followLogs(_namespace: string, _service: string, _listener: (line: LogLine) => void): () => void {
    return () => undefined;
  }

  /** Stops the watches and retries; leaves every Deployment and Service as it is (no scale-down, no delete). */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await Promise.all([this.#pods.stop(), this.#slices.stop(), this.#deployments.stop(), this.#deployWriter.close(), this.#scaleWriter.close()]);
    })();
    return this.#closing;
  }

  #entry(key: string): Entry {
    let e = this.#entries.get(key);
    if (!e) this.#entries.set(key, (e = { lastEmitted: '' }));
    return e;
  }

  /** Creates the Deployment (0 replicas) and Service, or brings existing ones up to date without touching replicas. */
  async #ensure(key: string, workload: RevisionWorkload): Promise<void> {
    await this.#removing.get(key);
    try {
      const outcome = await ensureDeployment(this.#clients, workload);
      const what = `Deployment ${workload.namespace}/${deploymentName(workload.revision)}`;
      if (outcome === 'created') {
        this.#logger.info(`kubernetes runtime: created ${what} (0 replicas)`);
        // A new Deployment has 0 replicas: a count asked for before it existed is written (again).
        const entry = this.#entries.get(key);
        if (entry) {
          delete entry.sentReplicas;
          if (entry.desired !== undefined && entry.desired > 0) this.#scaleWriter.set(key, entry.desired);
        }
      } else if (outcome === 'updated') {
        this.#logger.info(`kubernetes runtime: updated the template of ${what} (replica count left as it was)`);
      }
      const svc = buildService(workload);
      if (svc) await ensureService(this.#clients, svc);
    } catch (err) {
      const status = httpStatusOf(err);
      const entry = this.#entries.get(key);
      if (entry && status !== undefined && REFUSED.has(status)) {
        entry.apiFailure = { reason: 'DeploymentFailed', message: err instanceof Error ? err.message : String(err) };
        this.#refresh(key);
      }
      throw err;
    }
    const entry = this.#entries.get(key);
    if (entry?.apiFailure) {
      delete entry.apiFailure;
      this.#refresh(key);
    }
    this.#scaleWriter.kick(key);
  }

  async #writeScale(key: string, replicas: number): Promise<void> {
    // Right after deploy() the Deployment may still be on its way: let that write end first.
    await this.#deployWriter.idle(key);
    const parsed = parseRevisionKey(key);
    if (!parsed) return;
    await writeScale(this.#clients, parsed.namespace, parsed.revision, replicas);
    const entry = this.#entries.get(key);
    if (entry) entry.sentReplicas = replicas;
  }

  /**
   * Forgets removed keys once their Deployment is gone. A Deployment deleted by someone else is not created again:
   * its owner may be gone too (the garbage collector at work), and the runtime cannot tell; the next deploy() of a
   * restarted Wisp creates it, and scale() keeps reporting (and retrying) the 404 meanwhile.
   */
  #deploymentsChanged(keys: ReadonlySet<string>): void {
    for (const key of keys) if (this.#deployments.byKey(key).length === 0) this.#removed.delete(key);
  }

  #compute(key: string): { status: RevisionRuntimeStatus; observedFailure: RevisionFailure | undefined } | undefined {
    const entry = this.#entries.get(key);
    const deployment = this.#deployments.byKey(key).find((d) => !d.metadata?.deletionTimestamp) ?? this.#deployments.byKey(key)[0];
    if (this.#removed.has(key) && !entry?.workload) return undefined;
    if (!entry?.workload && entry?.desired === undefined && !deployment) return undefined;
    return deriveStatus({
      desired: entry?.desired ?? deployment?.spec?.replicas ?? 0,
      listens: entry?.workload?.listens !== false,
      observed: { deployment, pods: this.#pods.byKey(key), slices: this.#slices.byKey(key) },
      apiFailure: entry?.apiFailure,
      previousFailure: entry?.failure,
    });
  }

  /** Recomputes a key's status and tells listeners when it differs from what they saw last. */
  #refresh(key: string): void {
    const computed = this.#compute(key);
    if (!computed) {
      // Nothing of it is left (a Deployment found in the cluster and deleted): forget the entry.
      const entry = this.#entries.get(key);
      if (entry && !entry.workload && entry.desired === undefined) this.#entries.delete(key);
      return;
    }
    const entry = this.#entry(key);
    if (computed.observedFailure) entry.failure = computed.observedFailure;
    else delete entry.failure;
    const sig = JSON.stringify(computed.status);
    if (sig === entry.lastEmitted) return;
    const before = entry.lastEmitted === '' ? undefined : (JSON.parse(entry.lastEmitted) as RevisionRuntimeStatus);
    entry.lastEmitted = sig;
    const f = computed.status.failure;
    if (f && (before?.failure?.reason !== f.reason || before.failure.message !== f.message)) {
      this.#logger.warn(`kubernetes runtime: revision ${key}: ${f.reason}: ${f.message.split('\n').at(-1) ?? ''}`);
    }
    this.#notify(key, computed.status);
  }

  #notify(key: string, status: RevisionRuntimeStatus): void {
    for (const l of this.#listeners) {
      try {
        l(key, structuredClone(status));
      } catch (err) {
        this.#logger.warn(`kubernetes runtime listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  #onErrorTap(tap: (err: KubernetesRuntimeError) => void): () => void {
    this.#errorTaps.add(tap);
    return () => this.#errorTaps.delete(tap);
  }

  #report(err: KubernetesRuntimeError, attempt?: number): void {
    if (this.#closed && this.#closing !== undefined) return;
    for (const t of this.#errorTaps) t(err);
    this.#logger.warn(`kubernetes runtime: ${err.message}${attempt !== undefined && attempt > 1 ? ` (attempt ${attempt}, retrying)` : ''}`);
    try {
      this.#onError?.(err);
    } catch (e) {
      this.#logger.warn(`kubernetes runtime onError threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
