/**
 * Runs one ApiServerSource on Kubernetes (`wisp up --runtime kubernetes`): watches the cluster's own resources, as
 * Knative's receive adapter does, and sends each change to the sink as Knative's events (event.ts), one at a time
 * through a SinkQueue.
 *
 * - Each `spec.resources[]` apiVersion/kind is resolved to its REST resource through discovery (shared cache).
 * - One list-watch (kube-list-watch.ts) per resource and namespace: the source's own namespace; with a
 *   `namespaceSelector`, every namespace whose labels match (Namespaces are list-watched too, with Wisp's own
 *   identity, and watches start and stop as namespaces come and go); an empty selector, or a cluster-scoped kind, is
 *   one watch across the cluster. The `selector` goes to the API server as `labelSelector`; `owner` filters here.
 * - The watches act as the source's ServiceAccount (`Impersonate-User: system:serviceaccount:<ns>:<sa>`, Knative's
 *   `default` when unset): what the source may see is what its ServiceAccount may list and watch, not what Wisp may.
 * - Objects that existed before the first list send nothing (as Knative); later changes do, including those made
 *   while a watch was down (a re-list reports the differences).
 * - health() is what the reconciler writes as `Deployed`: pending while listing; a refusal (403 Forbidden, 404
 *   ResourceNotFound, no answer) with the API server's message; running when every watch runs. Failures are retried
 *   with a back-off; a change of health asks the reconciler to write status again (`requeue`).
 */
import { randomUUID } from 'node:crypto';
import type { Sender } from '../../../broker/delivery/index.js';
import type { Clock, Timer } from '../../clock.js';
import type { SourceRunner } from '../source-reconciler.js';
import type { DeployState } from '../status.js';
import type { SourceDeliveryError, SourceOverloadedError } from '../errors.js';
import type { ApiDiscovery } from './discovery.js';
import { apiServerEvent, ownerMatches } from './event.js';
import { DEFAULT_WATCH_BACKOFF, ListWatch, type Backoff, type KubeWatchApi } from './kube-list-watch.js';
import {
  backoffMs,
  collectionPath,
  labelSelectorString,
  namespacePlan,
  serviceAccountUser,
  type KubeApiServerRunSpec,
  type ObjectChange,
  type ResolvedResource,
  type WatchProblem,
} from './kube-spec.js';
import { SinkQueue, type ApiServerDeliveryPolicy, type ApiServerOutcome } from './queue.js';

/** How the runners reach the cluster. */
export interface KubeApiServerAccess {
  /** Wisp's own identity: Namespaces for `namespaceSelector`. */
  own: KubeWatchApi;
  /** The API as `user` (impersonated). */
  asUser(user: string): KubeWatchApi;
  /** Shared by every source. */
  discovery: ApiDiscovery;
}

export interface KubeApiServerSourceRunnerOptions {
  spec: KubeApiServerRunSpec;
  access: KubeApiServerAccess;
  clock: Clock;
  sender: Sender;
  delivery?: Partial<ApiServerDeliveryPolicy> | undefined;
  /** Retry back-off of discovery, lists and watches. Default 500 ms doubling to 30 s. */
  backoff?: Backoff | undefined;
  /** Event ids; default random UUIDs. */
  newId?: (() => string) | undefined;
  /** Health changed: the reconciler writes status again. */
  requeue: () => void;
  onOutcome?: ((outcome: ApiServerOutcome) => void) | undefined;
  /** Events given up on or dropped. */
  onError?: ((err: SourceDeliveryError | SourceOverloadedError) => void) | undefined;
  /** The source stopped working (its `Deployed` reason and message), for logs. */
  onProblem?: ((problem: WatchProblem) => void) | undefined;
}

const NAMESPACES: ResolvedResource = { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };

type RunnerState = 'new' | 'running' | 'stopped';

export class KubeApiServerSourceRunner implements SourceRunner {
  readonly #o: KubeApiServerSourceRunnerOptions;
  readonly #label: string;
  readonly #backoff: Backoff;
  readonly #queue: SinkQueue;
  readonly #api: KubeWatchApi;
  #state: RunnerState = 'new';
  /** Per `spec.resources[i]`: its resource once discovery found it. */
  readonly #resolved: (ResolvedResource | undefined)[];
  #discoveryProblem: WatchProblem | undefined;
  #discoveryFailures = 0;
  #discoveryRetry: Timer | undefined;
  /** The namespaces watched: a set, or every namespace. Undefined until known. */
  #namespaces: ReadonlySet<string> | 'all' | undefined;
  #namespaceWatch: ListWatch | undefined;
  /** By `<resource index>|<namespace or *>`. */
  readonly #watchers = new Map<string, ListWatch>();
  #lastHealth = '';
  #lastNamespaces = '';

  constructor(options: KubeApiServerSourceRunnerOptions) {
    this.#o = options;
    const { spec } = options;
    this.#label = `ApiServerSource ${spec.namespace}/${spec.name}`;
    this.#backoff = options.backoff ?? DEFAULT_WATCH_BACKOFF;
    this.#resolved = spec.resources.map(() => undefined);
    this.#api = options.access.asUser(serviceAccountUser(spec.namespace, spec.serviceAccountName));
    this.#queue = new SinkQueue({
      label: this.#label,
      sinkUri: spec.sinkUri,
      clock: options.clock,
      sender: options.sender,
      delivery: options.delivery,
      onOutcome: options.onOutcome,
      onError: options.onError,
    });
  }

  get spec(): KubeApiServerRunSpec {
    return this.#o.spec;
  }

  /** Events waiting for delivery (not counting the one being delivered). */
  get queued(): number {
    return this.#queue.queued;
  }

  /**
   * The namespaces watched now (Knative's `status.namespaces`), sorted; undefined when the source watches every
   * namespace, or before the matching ones are known.
   */
  namespaces(): string[] | undefined {
    const ns = this.#namespaces;
    return ns === undefined || ns === 'all' ? undefined : [...ns].sort();
  }

  start(): void {
    if (this.#state !== 'new') throw new Error(`${this.#label}: runner cannot start when ${this.#state}`);
    this.#state = 'running';
    this.#lastHealth = JSON.stringify(this.health());
    this.#lastNamespaces = JSON.stringify(null);
    const plan = namespacePlan(this.#o.spec);
    if (plan.kind === 'own') this.#namespaces = new Set([plan.namespace]);
    else if (plan.kind === 'all') this.#namespaces = 'all';
    else {
      this.#namespaceWatch = new ListWatch({
        api: this.#o.access.own,
        path: collectionPath(NAMESPACES, undefined),
        labelSelector: plan.labelSelector,
        apiVersion: 'v1',
        kind: 'Namespace',
        clock: this.#o.clock,
        backoff: this.#backoff,
        onChanges: () => {
          this.#namespaces = new Set(this.#namespaceWatch?.objects().map((n) => n.metadata.name) ?? []);
          this.#sync();
        },
        onState: () => this.#changed(),
      });
      this.#namespaceWatch.start();
    }
    void this.#resolve();
  }

  /** Stops every watch and drops queued events; an attempt on the wire finishes but is not retried. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#discoveryRetry?.cancel();
    this.#namespaceWatch?.stop();
    for (const w of this.#watchers.values()) w.stop();
    this.#watchers.clear();
    this.#queue.stop();
  }

  /** Resolves when the queue is empty and no delivery is running. */
  drained(): Promise<void> {
    return this.#queue.drained();
  }

  health(): DeployState {
    if (this.#discoveryProblem) return { kind: 'not-running', ...this.#discoveryProblem };
    const ns = this.#namespaceWatch?.state;
    if (ns?.kind === 'failed') return { kind: 'not-running', ...ns.problem };
    const watchers = [...this.#watchers.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, w]) => w.state);
    const failed = watchers.find((s) => s.kind === 'failed');
    if (failed?.kind === 'failed') return { kind: 'not-running', ...failed.problem };
    const starting = this.#resolved.some((r) => r === undefined) || ns?.kind === 'listing' || this.#namespaces === undefined || watchers.some((s) => s.kind === 'listing');
    if (starting) return { kind: 'pending', reason: 'Starting', message: 'Listing the watched resources.' };
    return { kind: 'running' };
  }

  async #resolve(): Promise<void> {
    const { spec, access } = this.#o;
    let problem: WatchProblem | undefined;
    for (const [i, r] of spec.resources.entries()) {
      if (this.#resolved[i] !== undefined) continue;
      let res;
      try {
        res = await access.discovery.resolve(r.apiVersion, r.kind);
      } catch (err) {
        res = { ok: false as const, problem: { reason: 'DiscoveryFailed', message: err instanceof Error ? err.message : String(err) } };
      }
      if (this.#state !== 'running') return;
      if (res.ok) this.#resolved[i] = res.resource;
      else problem ??= { ...res.problem, message: `spec.resources[${i}] (${r.apiVersion} ${r.kind}): ${res.problem.message}` };
    }
    this.#discoveryProblem = problem;
    if (problem) {
      this.#discoveryRetry = this.#o.clock.setTimeout(() => void this.#resolve(), backoffMs(++this.#discoveryFailures, this.#backoff));
    } else this.#discoveryFailures = 0;
    this.#sync();
  }

  /** Starts the watches that should run and stops the others. */
  #sync(): void {
    if (this.#state !== 'running') return;
    const wanted = new Map<string, { resource: ResolvedResource; index: number; namespace: string | undefined }>();
    const namespaces = this.#namespaces;
    if (namespaces !== undefined) {
      for (const [index, resource] of this.#resolved.entries()) {
        if (!resource) continue;
        if (!resource.namespaced || namespaces === 'all') wanted.set(`${index}|*`, { resource, index, namespace: undefined });
        else for (const ns of namespaces) wanted.set(`${index}|${ns}`, { resource, index, namespace: ns });
      }
    }
    for (const [key, w] of this.#watchers) {
      if (wanted.has(key)) continue;
      w.stop();
      this.#watchers.delete(key);
    }
    for (const [key, want] of wanted) {
      if (this.#watchers.has(key)) continue;
      const w = new ListWatch({
        api: this.#api,
        path: collectionPath(want.resource, want.namespace),
        labelSelector: labelSelectorString(this.#o.spec.resources[want.index]?.selector),
        apiVersion: want.resource.apiVersion,
        kind: want.resource.kind,
        clock: this.#o.clock,
        backoff: this.#backoff,
        onChanges: (changes, initial) => this.#onChanges(want.resource, changes, initial),
        onState: () => this.#changed(),
      });
      this.#watchers.set(key, w);
      w.start();
    }
    this.#changed();
  }

  #onChanges(resource: ResolvedResource, changes: readonly ObjectChange[], initial: boolean): void {
    if (initial || this.#state !== 'running') return;
    const { spec } = this.#o;
    for (const c of changes) {
      if (!ownerMatches(c.object, spec.owner)) continue;
      this.#queue.push(
        apiServerEvent({
          mode: spec.mode,
          type: c.type,
          object: c.object,
          sourceUri: spec.sourceUri,
          extensions: spec.extensions,
          plural: resource.plural,
          id: (this.#o.newId ?? randomUUID)(),
          now: this.#o.clock.now(),
        }),
      );
    }
  }

  /** Tells the reconciler when health or the namespaces watched changed. */
  #changed(): void {
    if (this.#state !== 'running') return;
    const h = this.health();
    const health = JSON.stringify(h);
    const namespaces = JSON.stringify(this.namespaces() ?? null);
    if (health === this.#lastHealth && namespaces === this.#lastNamespaces) return;
    if (health !== this.#lastHealth && h.kind === 'not-running') this.#o.onProblem?.({ reason: h.reason, message: h.message });
    this.#lastHealth = health;
    this.#lastNamespaces = namespaces;
    this.#o.requeue();
  }
}
