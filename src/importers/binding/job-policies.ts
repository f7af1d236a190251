/**
 * The MutatingAdmissionPolicies that bind Jobs at creation (job-policy.ts builds them), the I/O half: one policy and
 * one policy binding per SinkBinding whose subject is `batch/v1` Job and whose sink resolved (its `status.sinkUri`),
 * written when the binding changes, deleted when it goes; at start, the policies of bindings that went while Wisp was
 * stopped are deleted. One write in flight per binding (the runtime's KeyedWriter, retried with back-off).
 */
import { isDeepStrictEqual } from 'node:util';
import type { BindingSubject } from '../../api/sinkbinding.js';
import type { Clock } from '../../clock.js';
import { KubeApiError, type KubeClient, type KubeList } from '../../control/kube/client.js';
import type { ResourceReader } from '../../control/resource-store.js';
import { KeyedWriter } from '../../runtime/kubernetes/keyed-writer.js';
import { covers } from '../../runtime/kubernetes/objects.js';
import { sinkEnv, type CeOverrides } from '../sink-env.js';
import {
  ADMISSION_API,
  BINDING_NAMESPACE_LABEL,
  bindingOfPolicy,
  type ClusterObject,
  jobPolicyName,
  jobPolicyObjects,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POLICIES,
  POLICY_BINDINGS,
} from './job-policy.js';
import { JOB_SUBJECT, workloadKindOf } from './kube-subjects.js';
import { SINKBINDINGS } from './reconciler.js';

export interface JobPoliciesOptions {
  client: KubeClient;
  /** Where the SinkBindings are (their spec and the status their reconciler writes). */
  store: ResourceReader;
  clock: Clock;
  /** Only the policies of this namespace's bindings (`--namespace-scope`); default every namespace. */
  namespace?: string;
  onError?: (err: unknown) => void;
  log?: (message: string) => void;
  backoff?: { initialMs?: number; maxMs?: number };
}

type Desired = { policy: ClusterObject; policyBinding: ClusterObject } | null;

/** Where the policy of one binding stands, for its `BindingAvailable`. */
export interface JobPolicyState {
  /** Not written yet (Jobs created now would not be bound). */
  pending?: string;
  /** The API server refused it (RBAC, a cluster without the API). */
  failure?: string;
}

const path = (resource: string, name?: string): string => `/apis/${ADMISSION_API}/${resource}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;

export class JobPolicies {
  readonly #o: JobPoliciesOptions;
  readonly #writer: KeyedWriter<Desired>;
  /** What was written last per binding key (JSON of the desired objects; 'null' once deleted). */
  readonly #written = new Map<string, string>();
  readonly #failures = new Map<string, string>();
  readonly #listeners = new Set<(namespace: string) => void>();
  #unwatch: (() => void) | undefined;

  constructor(opts: JobPoliciesOptions) {
    this.#o = opts;
    this.#writer = new KeyedWriter<Desired>({
      clock: opts.clock,
      backoff: { initialMs: opts.backoff?.initialMs ?? 200, maxMs: opts.backoff?.maxMs ?? 30_000 },
      write: (key, desired) => this.#write(key, desired),
      onError: (_key, err) => opts.onError?.(err),
    });
  }

  /** Writes the policies of the Job bindings in the store, and follows their changes; then deletes leftovers. */
  start(): void {
    if (this.#unwatch) return;
    this.#unwatch = this.#o.store.watch((ev) => {
      if (ev.kind.group !== SINKBINDINGS.group || ev.kind.kind !== SINKBINDINGS.kind) return;
      this.#sync(`${ev.object.metadata.namespace}/${ev.object.metadata.name}`);
    });
    for (const b of this.#o.store.list(SINKBINDINGS, this.#o.namespace)) this.#sync(`${b.metadata.namespace}/${b.metadata.name}`);
    void this.#collect().catch((err: unknown) => this.#o.onError?.(err));
  }

  /** The policy of binding `key` (`<ns>/<name>`): on its way, refused, or in place (`{}`). */
  state(key: string): JobPolicyState {
    const failure = this.#failures.get(key);
    if (failure !== undefined) return { failure };
    const desired = this.#desired(key);
    if (desired === 'unsettled' || (desired !== null && this.#written.get(key) !== JSON.stringify(desired))) {
      return { pending: 'writing the MutatingAdmissionPolicy that binds Jobs as they are created' };
    }
    return {};
  }

  onChange(listener: (namespace: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops following the bindings; the policies stay (they keep binding Jobs while Wisp is away). */
  async close(): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.#writer.close();
  }

  /** The policy objects binding `key` wants, null for none, 'unsettled' while its status lags its spec. */
  #desired(key: string): Desired | 'unsettled' {
    const [namespace = '', name = ''] = key.split('/');
    const b = this.#o.store.get(SINKBINDINGS, namespace, name);
    if (!b || workloadKindOf((b.spec as { subject?: BindingSubject } | undefined)?.subject) !== JOB_SUBJECT) return null;
    const status = b.status as { sinkUri?: string; observedGeneration?: number } | undefined;
    if (status?.observedGeneration !== (b.metadata.generation ?? 1)) return 'unsettled';
    if (status.sinkUri === undefined || status.sinkUri === '') return null;
    return jobPolicyObjects(b, sinkEnv(status.sinkUri, (b.spec as { ceOverrides?: CeOverrides }).ceOverrides));
  }

  #sync(key: string): void {
    const desired = this.#desired(key);
    if (desired === 'unsettled') return;
    // Nothing ever written and nothing wanted (not a Job binding): no call.
    if (desired === null && !this.#written.has(key)) return;
    if (this.#written.get(key) === JSON.stringify(desired)) return;
    this.#writer.set(key, desired);
  }

  /** Policies Wisp wrote for bindings that are not (or no longer) Job bindings in the store: deleted. */
  async #collect(): Promise<void> {
    const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY}${this.#o.namespace !== undefined ? `,${BINDING_NAMESPACE_LABEL}=${this.#o.namespace}` : ''}`;
    let list: KubeList;
    try {
      list = await this.#o.client.request<KubeList>('GET', `${path(POLICIES)}?labelSelector=${encodeURIComponent(selector)}`);
    } catch (err) {
      // A cluster without the API (before Kubernetes 1.36) or RBAC without list: nothing to collect here.
      if (err instanceof KubeApiError && (err.notFound || err.status === 403)) return;
      throw err;
    }
    for (const p of list.items ?? []) {
      const key = bindingOfPolicy(p);
      if (key === undefined || this.#desired(key) !== null) continue;
      this.#written.set(key, 'stale');
      this.#writer.set(key, null);
    }
  }

  async #write(key: string, desired: Desired): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    try {
      if (desired === null) {
        for (const resource of [POLICY_BINDINGS, POLICIES]) await this.#delete(resource, jobPolicyName(namespace, name));
        this.#written.delete(key);
        this.#o.log?.(`sinkbinding ${key}: deleted MutatingAdmissionPolicy ${jobPolicyName(namespace, name)}`);
      } else {
        const changed = (await this.#ensure(POLICIES, desired.policy)) || (await this.#ensure(POLICY_BINDINGS, desired.policyBinding));
        this.#written.set(key, JSON.stringify(desired));
        if (changed) this.#o.log?.(`sinkbinding ${key}: wrote MutatingAdmissionPolicy ${desired.policy.metadata.name} (Jobs bound as they are created)`);
      }
    } catch (err) {
      if (err instanceof KubeApiError && !err.retriable) {
        const why = err.notFound
          ? ' (the cluster does not serve admissionregistration.k8s.io/v1 MutatingAdmissionPolicy: Kubernetes 1.36 or later)'
          : err.status === 403
            ? ' (binding Jobs needs get, create, update and delete on mutatingadmissionpolicies and mutatingadmissionpolicybindings, cluster-wide)'
            : '';
        this.#fail(key, namespace, `${err.message}${why}`);
      }
      throw err;
    }
    this.#failures.delete(key);
    this.#notify(namespace);
  }

  /** Creates `want` or puts it over what differs; true when something was written. */
  async #ensure(resource: string, want: ClusterObject): Promise<boolean> {
    const name = want.metadata.name;
    let existing: ClusterObject | undefined;
    try {
      existing = await this.#o.client.request<ClusterObject>('GET', path(resource, name));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
    if (!existing) {
      await this.#o.client.request('POST', path(resource), want);
      return true;
    }
    const same =
      covers(existing.spec, want.spec) &&
      isDeepStrictEqual(existing.metadata.labels ?? {}, want.metadata.labels ?? {}) &&
      covers(existing.metadata.annotations, want.metadata.annotations);
    if (same) return false;
    await this.#o.client.request('PUT', path(resource, name), { ...want, metadata: { ...want.metadata, resourceVersion: existing.metadata.resourceVersion } });
    return true;
  }

  async #delete(resource: string, name: string): Promise<void> {
    try {
      await this.#o.client.request('DELETE', path(resource, name));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.notFound)) throw err;
    }
  }

  #fail(key: string, namespace: string, message: string): void {
    if (this.#failures.get(key) === message) return;
    this.#failures.set(key, message);
    this.#notify(namespace);
  }

  #notify(namespace: string): void {
    for (const l of [...this.#listeners]) l(namespace);
  }
}
