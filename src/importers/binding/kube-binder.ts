/**
 * SinkBinding's workload subjects on Kubernetes, the I/O half (kube-subjects.ts decides): list-watches every
 * Deployment (and Job) in scope, started the first time a SinkBinding names that kind, and keeps each workload's pod
 * template as the bindings in the store say (bindingFor: the binding with a resolved `status.sinkUri`, the last by
 * name). So a Deployment created after its binding is bound when it appears (Knative's webhook binds it at
 * admission; here it is bound a moment later, and rolls once), a sink change patches every subject again, and a
 * binding deleted (even while Wisp was stopped) leaves no `K_SINK` behind in the workloads Wisp marked as its own.
 *
 * Patches are JSON merge patches carrying the resourceVersion they were computed from, one in flight per workload
 * (the runtime's KeyedWriter: retried with back-off, recomputed from the newest version each time).
 */
import { BatchV1Api, type KubeConfig, type V1Deployment, type V1Job } from '@kubernetes/client-node';
import type { KObject } from '../../api/types.js';
import type { Clock } from '../../clock.js';
import type { ResourceReader } from '../../control/resource-store.js';
import { apiError, call, callOptions, listWatchSource, makeClients, mergePatch, type KubeClients } from '../../runtime/kubernetes/api.js';
import { KubernetesApiError } from '../../runtime/kubernetes/errors.js';
import { KeyedWriter } from '../../runtime/kubernetes/keyed-writer.js';
import { Reflector, type ListWatchSource } from '../../runtime/kubernetes/reflector.js';
import type { BindingSubject } from '../../api/sinkbinding.js';
import type { JobPolicies } from './job-policies.js';
import { SINKBINDINGS } from './reconciler.js';
import { bindingFor, bindsTo } from './subject.js';
import {
  isBoundTo,
  JOB_SUBJECT,
  subjectObject,
  workloadKindOf,
  workloadPatch,
  WORKLOAD_SUBJECTS,
  type SubjectState,
  type Workload,
  type WorkloadKind,
} from './kube-subjects.js';

export interface WorkloadSubjectsOptions {
  kubeConfig: KubeConfig;
  /** Where the SinkBindings are (their spec, and the status their reconciler writes). */
  store: ResourceReader;
  clock: Clock;
  /** Watch and patch only this namespace (`--namespace-scope`); default every namespace. */
  namespace?: string;
  /** A failed list, watch or patch (each is retried). */
  onError?: (err: unknown) => void;
  /** Each workload bound or unbound. */
  log?: (message: string) => void;
  /** The admission policies that bind Jobs at creation; without them no Job is bound. */
  jobPolicies?: JobPolicies;
  /** Retry back-off of patches and re-watches: initialMs (200 patches, 500 watches) doubling to maxMs (30 000). */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** How a binding's workload subjects stand (for its `BindingAvailable`). */
export interface WorkloadSubjectsView {
  /** The subject kind has not been listed yet. */
  listing: boolean;
  /** The binding's own step on its way (a Job binding's admission policy), or refused. */
  pending?: string;
  failure?: string;
  subjects: SubjectState[];
  /** The subject named by `name` does not exist. */
  missing?: string;
}

const JOB_IMMUTABLE =
  "created before the binding (or before its admission policy took effect), and a Job's pod template cannot change: Jobs created from now on are bound as they are created";

const idOf = (w: Workload): string => `${w.metadata?.namespace ?? ''}/${w.metadata?.name ?? ''}`;

export class WorkloadSubjects {
  readonly #o: WorkloadSubjectsOptions;
  readonly #clients: KubeClients;
  readonly #batch: BatchV1Api;
  readonly #reflectors = new Map<string, Reflector<Workload>>();
  readonly #writer: KeyedWriter<WorkloadKind>;
  /** The last refused patch of a workload, by `<Kind>|<ns>/<name>`. */
  readonly #problems = new Map<string, string>();
  /** Called with a namespace whose subjects changed, or undefined (all of them). */
  readonly #listeners = new Set<(namespace: string | undefined) => void>();
  #unwatch: (() => void) | undefined;
  #closed = false;

  constructor(opts: WorkloadSubjectsOptions) {
    this.#o = opts;
    this.#clients = makeClients(opts.kubeConfig);
    this.#batch = opts.kubeConfig.makeApiClient(BatchV1Api);
    this.#writer = new KeyedWriter<WorkloadKind>({
      clock: opts.clock,
      backoff: { initialMs: opts.backoff?.initialMs ?? 200, maxMs: opts.backoff?.maxMs ?? 30_000 },
      write: (key, kind) => this.#write(key, kind),
      // A stale resourceVersion (the Deployment controller writes status right after a create) is routine: retried
      // as soon as the watch shows the newer version (#reconcile kicks the writer).
      onError: (_key, err) => {
        if (!(err instanceof KubernetesApiError && err.httpStatus === 409)) opts.onError?.(err);
      },
    });
  }

  /** Watches the store's SinkBindings and starts watching each workload kind they name. */
  start(): void {
    if (this.#unwatch) return;
    const unwatchPolicies = this.#o.jobPolicies?.onChange((ns) => this.#notify(ns));
    const unwatchStore = this.#o.store.watch((ev) => {
      if (ev.kind.group !== SINKBINDINGS.group || ev.kind.kind !== SINKBINDINGS.kind) return;
      this.#bindingChanged(ev.object);
    });
    this.#unwatch = () => {
      unwatchStore();
      unwatchPolicies?.();
    };
    for (const b of this.#o.store.list(SINKBINDINGS)) this.#bindingChanged(b);
  }

  /** How the workloads `binding` selects stand, given `env`, the env it binds (from its resolved sink). */
  view(binding: KObject, env: Readonly<Record<string, string>>): WorkloadSubjectsView {
    const subject = (binding.spec as { subject?: BindingSubject } | undefined)?.subject;
    const kind = workloadKindOf(subject);
    if (!kind) return { listing: false, subjects: [] };
    const r = this.#ensureWatching(kind);
    if (!r.synced) return { listing: true, subjects: [] };
    const ns = binding.metadata.namespace;
    const states: SubjectState[] = [];
    for (const w of this.#workloads(r, ns)) {
      if (w.metadata?.deletionTimestamp || !bindsTo(binding, subjectObject(kind, w))) continue;
      const what = `${kind.kind} ${idOf(w)}`;
      if (isBoundTo(w, { name: binding.metadata.name, env }, kind)) {
        states.push({ what, bound: true });
        continue;
      }
      const chosen = bindingFor(subjectObject(kind, w), this.#o.store.list(SINKBINDINGS, ns)).binding;
      const problem = kind.immutableTemplate
        ? JOB_IMMUTABLE
        : chosen !== undefined && chosen.name !== binding.metadata.name
          ? `bound by SinkBinding "${chosen.name}" (when two bindings select one workload, the last by name wins)`
          : this.#problems.get(`${kind.kind}|${idOf(w)}`);
      states.push({ what, bound: false, ...(problem !== undefined && { problem }) });
    }
    const policy = kind === JOB_SUBJECT ? this.#jobPolicy(`${ns}/${binding.metadata.name}`) : {};
    if (states.length === 0 && subject?.name && kind !== JOB_SUBJECT) {
      return { listing: false, subjects: [], missing: `${kind.apiVersion} ${kind.kind} "${subject.name}" not found in namespace "${subject.namespace ?? ns}"` };
    }
    return { listing: false, subjects: states, ...policy };
  }

  /** Where a Job binding's admission policy stands (a failure without JobPolicies: Jobs cannot be bound). */
  #jobPolicy(key: string): { pending?: string; failure?: string } {
    const p = this.#o.jobPolicies;
    if (!p) return { failure: 'Jobs are bound as they are created, by a MutatingAdmissionPolicy, which this Wisp does not write' };
    return p.state(key);
  }

  /** `listener(namespace)` after subjects of that namespace changed (undefined: any). Returns an unsubscribe. */
  onChange(listener: (namespace: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops watching and patching; every workload stays as it is. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unwatch?.();
    this.#unwatch = undefined;
    await Promise.all([this.#writer.close(), ...[...this.#reflectors.values()].map((r) => r.stop())]);
  }

  #ensureWatching(kind: WorkloadKind): Reflector<Workload> {
    const existing = this.#reflectors.get(kind.kind);
    if (existing) return existing;
    const r = new Reflector<Workload>({
      source: this.#source(kind),
      clock: this.#o.clock,
      keyOf: (w) => idOf(w),
      backoff: { initialMs: this.#o.backoff?.initialMs ?? 500, maxMs: this.#o.backoff?.maxMs ?? 30_000 },
      onChange: (keys) => {
        const namespaces = new Set<string>();
        for (const id of keys) {
          this.#reconcile(kind, id);
          namespaces.add(id.slice(0, id.indexOf('/')));
        }
        for (const ns of namespaces) this.#notify(ns);
      },
      onError: (err, during) => this.#o.onError?.(apiError(`${during} ${kind.resource} (SinkBinding subjects)`, err)),
    });
    this.#reflectors.set(kind.kind, r);
    if (!this.#closed) void r.start().then(() => this.#notify(undefined));
    return r;
  }

  #source(kind: WorkloadKind): ListWatchSource<Workload> {
    const namespace = this.#o.namespace;
    const o = callOptions();
    const { apps, watch } = this.#clients;
    const batch = this.#batch;
    const spec = { what: `${kind.resource}`, prefix: kind.prefix, resource: kind.resource, namespace, labelSelector: '' };
    if (kind === JOB_SUBJECT) {
      return listWatchSource<V1Job>(watch, {
        ...spec,
        list: () => (namespace !== undefined ? batch.listNamespacedJob({ namespace }, o) : batch.listJobForAllNamespaces({}, o)),
      }) as ListWatchSource<Workload>;
    }
    return listWatchSource<V1Deployment>(watch, {
      ...spec,
      list: () => (namespace !== undefined ? apps.listNamespacedDeployment({ namespace }, o) : apps.listDeploymentForAllNamespaces({}, o)),
    }) as ListWatchSource<Workload>;
  }

  /** Every workload of the reflector in one namespace. */
  #workloads(r: Reflector<Workload>, namespace: string): Workload[] {
    return r
      .keys()
      .filter((id) => id.startsWith(`${namespace}/`))
      .flatMap((id) => r.byKey(id));
  }

  /** A binding appeared, changed (spec or status) or went: its kind is watched, its namespace's workloads reconciled. */
  #bindingChanged(binding: KObject): void {
    const kind = workloadKindOf((binding.spec as { subject?: BindingSubject } | undefined)?.subject);
    if (kind) this.#ensureWatching(kind);
    const ns = binding.metadata.namespace;
    for (const k of WORKLOAD_SUBJECTS) {
      const r = this.#reflectors.get(k.kind);
      if (r) for (const w of this.#workloads(r, ns)) this.#reconcile(k, idOf(w));
    }
  }

  /** What the bindings want of one workload; a patch is queued when it differs. */
  #desired(kind: WorkloadKind, w: Workload): { settled: boolean; binding?: { name: string; env: Record<string, string> } } {
    return bindingFor(subjectObject(kind, w), this.#o.store.list(SINKBINDINGS, w.metadata?.namespace ?? ''));
  }

  #reconcile(kind: WorkloadKind, id: string): void {
    if (kind.immutableTemplate) return;
    const w = this.#reflectors.get(kind.kind)?.byKey(id)[0];
    const key = `${kind.kind}|${id}`;
    if (!w || w.metadata?.deletionTimestamp) {
      this.#problems.delete(key);
      void this.#writer.forget(key);
      return;
    }
    const desired = this.#desired(kind, w);
    // A binding not reconciled since its spec changed: wait for its status (the sink it resolved to).
    if (!desired.settled) return;
    if (!workloadPatch(w, desired.binding, kind)) return;
    this.#writer.set(key, kind);
    this.#writer.kick(key);
  }

  /** Patches one workload from the newest version the watch has; nothing when it is already as wanted. */
  async #write(key: string, kind: WorkloadKind): Promise<void> {
    const id = key.slice(key.indexOf('|') + 1);
    const w = this.#reflectors.get(kind.kind)?.byKey(id)[0];
    if (!w || w.metadata?.deletionTimestamp) return;
    const desired = this.#desired(kind, w);
    if (!desired.settled) return;
    const patch = workloadPatch(w, desired.binding, kind);
    if (!patch) return;
    const namespace = w.metadata?.namespace ?? '';
    const name = w.metadata?.name ?? '';
    const what = `${desired.binding ? 'bind' : 'unbind'} ${kind.kind} ${id}`;
    try {
      await call(what, () => this.#clients.apps.patchNamespacedDeployment({ name, namespace, body: patch }, mergePatch()));
    } catch (err) {
      // A stale resourceVersion (409) or an API server away is tried again; a refusal is shown in the status.
      if (!(err instanceof KubernetesApiError) || err.retriable) throw err;
      const message = err.message;
      if (this.#problems.get(key) !== message) {
        this.#problems.set(key, message);
        this.#notify(namespace);
      }
      throw err;
    }
    if (this.#problems.delete(key)) this.#notify(namespace);
    this.#o.log?.(desired.binding ? `sinkbinding ${namespace}/${desired.binding.name}: bound ${kind.kind} ${id}` : `sinkbinding: unbound ${kind.kind} ${id}`);
  }

  #notify(namespace: string | undefined): void {
    for (const l of [...this.#listeners]) l(namespace);
  }
}
