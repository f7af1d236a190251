/**
 * SinkBindings' reconciler in Kubernetes mode: resolves each binding's `spec.sink` like a Trigger subscriber and
 * writes status (`sinkUri`, SinkProvided, BindingAvailable, Ready with `bound N subjects`). The binding itself is
 * carried out from that status, by subject kind:
 *
 * - `apps/v1` Deployment, `batch/v1` Job: WorkloadSubjects (kube-binder.ts) patches the pod template of every
 *   workload the binding selects (a Job only at creation, see kube-subjects.ts).
 * - `serving.knative.dev/v1` Service: the serving reconciler gives its next revision the env, as embedded
 *   (sinkBindingEnvSource). Knative patches the ksvc's `spec.template` instead; Wisp is the ksvc's own controller
 *   here, so it puts the variables where its revisions are cut, and the user's ksvc stays as they applied it
 *   (`kubectl apply` and `kubectl diff` see no drift, no generation bump).
 *
 * A runner per binding only watches how its subjects stand and reports `BindingAvailable`: True once every subject
 * carries the binding's env (a ksvc: its latest created revision), with how many.
 */
import type { BindingSubject } from '../../api/sinkbinding.js';
import type { KObject } from '../../api/types.js';
import type { Clock } from '../../clock.js';
import type { CoreServiceDirectory } from '../../control/eventing/destination.js';
import type { ResourceReader, ResourceStore } from '../../control/resource-store.js';
import { podSpecHasSinkEnv, type EnvPodSpec } from '../pod-env.js';
import { sinkEnv, type CeOverrides } from '../sink-env.js';
import { kindNamed, SourceReconciler, type SourcePlan, type SourceRunner } from '../source-reconciler.js';
import type { DeployState } from '../status.js';
import type { WorkloadSubjects } from './kube-binder.js';
import { bindingHealth, isBindableOnKubernetes, KSVC_SUBJECT, workloadKindOf, type SubjectState } from './kube-subjects.js';
import { SINKBINDINGS } from './reconciler.js';
import { sinkBindingStatus } from './status.js';
import { bindingFor, bindsTo } from './subject.js';

export interface KubeSinkBindingsReconcilerOptions {
  store: ResourceStore;
  clock: Clock;
  /** The Deployments and Jobs bindings patch. */
  subjects: WorkloadSubjects;
  /** The cluster's v1 Services, for sinks that name one. */
  coreServices?: CoreServiceDirectory;
  /** Reconcile failures (`what` says which). */
  onError?: (what: string, err: unknown) => void;
}

const SERVICES = kindNamed('services.serving.knative.dev');
const REVISIONS = kindNamed('revisions.serving.knative.dev');

/** What a binding's runner compares its subjects with. JSON-serialisable (the restart signature). */
export interface KubeBindingRunSpec {
  namespace: string;
  name: string;
  subject: BindingSubject;
  /** `K_SINK` (the resolved sink) and `K_CE_OVERRIDES`. */
  env: Record<string, string>;
}

interface BindingSpec {
  subject?: BindingSubject;
  ceOverrides?: CeOverrides;
}

/** The env a binding gives, or why it binds nothing (a subject kind Wisp does not bind). */
export function planKubeBinding(binding: KObject, sinkUri: string): SourcePlan<KubeBindingRunSpec> {
  const spec = (binding.spec ?? {}) as BindingSpec;
  const subject = spec.subject;
  if (!subject || !isBindableOnKubernetes(subject)) {
    return {
      problem: {
        reason: 'SubjectUnsupported',
        message: `cannot bind ${subject?.apiVersion ?? '<no apiVersion>'} ${subject?.kind ?? '<no kind>'}: Wisp binds apps/v1 Deployment, batch/v1 Job and serving.knative.dev/v1 Service`,
      },
    };
  }
  const { namespace, name } = binding.metadata;
  return { runSpec: { namespace, name, subject, env: sinkEnv(sinkUri, spec.ceOverrides) } };
}

/** How the ksvc subjects of a binding stand: bound once their latest created revision carries the env. */
export function ksvcSubjects(store: ResourceReader, binding: KObject, env: Readonly<Record<string, string>>): { subjects: SubjectState[]; missing?: string } {
  const ns = binding.metadata.namespace;
  const states: SubjectState[] = [];
  for (const svc of store.list(SERVICES, ns)) {
    if (!bindsTo(binding, svc)) continue;
    const what = `Service ${ns}/${svc.metadata.name}`;
    const latest = (svc.status as { latestCreatedRevisionName?: string } | undefined)?.latestCreatedRevisionName;
    const rev = latest !== undefined ? store.get(REVISIONS, ns, latest) : undefined;
    if (rev && podSpecHasSinkEnv(rev.spec as EnvPodSpec | undefined, env)) {
      states.push({ what, bound: true });
      continue;
    }
    const chosen = bindingFor(svc, store.list(SINKBINDINGS, ns)).binding;
    const other = chosen !== undefined && chosen.name !== binding.metadata.name;
    states.push({ what, bound: false, ...(other && { problem: `bound by SinkBinding "${chosen.name}" (when two bindings select one Service, the last by name wins)` }) });
  }
  const name = (binding.spec as BindingSpec | undefined)?.subject?.name;
  if (states.length === 0 && name) return { subjects: [], missing: `${KSVC_SUBJECT.apiVersion} Service "${name}" not found in namespace "${ns}"` };
  return { subjects: states };
}

type RunnerState = 'new' | 'running' | 'stopped';

/** Watches one binding's subjects and tells the reconciler when its `BindingAvailable` changes. */
export class KubeBindingRunner implements SourceRunner {
  readonly #spec: KubeBindingRunSpec;
  readonly #store: ResourceReader;
  readonly #subjects: WorkloadSubjects;
  readonly #requeue: () => void;
  #state: RunnerState = 'new';
  #sig = '';
  #unsubscribe: (() => void) | undefined;

  constructor(o: { spec: KubeBindingRunSpec; store: ResourceReader; subjects: WorkloadSubjects; requeue: () => void }) {
    this.#spec = o.spec;
    this.#store = o.store;
    this.#subjects = o.subjects;
    this.#requeue = o.requeue;
  }

  start(): void {
    if (this.#state !== 'new') throw new Error(`SinkBinding ${this.#spec.namespace}/${this.#spec.name}: runner cannot start when ${this.#state}`);
    this.#state = 'running';
    this.#unsubscribe = this.#subjects.onChange((ns) => {
      if (ns === undefined || ns === this.#spec.namespace) this.#check();
    });
    this.#sig = JSON.stringify(this.health());
  }

  health(): DeployState {
    const binding = this.#store.get(SINKBINDINGS, this.#spec.namespace, this.#spec.name);
    if (!binding) return { kind: 'pending', reason: 'Deleted', message: 'The binding is being deleted.' };
    if (workloadKindOf(this.#spec.subject)) return bindingHealth(this.#subjects.view(binding, this.#spec.env));
    return bindingHealth(ksvcSubjects(this.#store, binding, this.#spec.env));
  }

  stop(): void {
    this.#state = 'stopped';
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #check(): void {
    if (this.#state !== 'running') return;
    const sig = JSON.stringify(this.health());
    if (sig === this.#sig) return;
    this.#sig = sig;
    this.#requeue();
  }
}

export class KubeSinkBindingsReconciler extends SourceReconciler<KubeBindingRunSpec, KubeBindingRunner> {
  constructor(o: KubeSinkBindingsReconcilerOptions) {
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined && { onError: o.onError }),
      ...(o.coreServices !== undefined && { coreServices: o.coreServices }),
      source: {
        kind: SINKBINDINGS,
        label: 'sinkbinding',
        waitingForSink: 'The subjects are bound once the sink resolves.',
        plan: planKubeBinding,
        // A ksvc subject's status names its latest revision: requeue the binding when it changes.
        dependsOn: (binding, obj) => bindsTo(binding, obj),
        createRunner: (_key, spec, requeue) => new KubeBindingRunner({ spec, store: o.store, subjects: o.subjects, requeue }),
        status: (binding, state) => sinkBindingStatus({ generation: binding.metadata.generation ?? 1, ...state }),
      },
    });
  }
}
