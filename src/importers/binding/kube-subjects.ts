/**
 * SinkBinding subjects on Kubernetes (pure): the workload kinds bound by patching their pod template (`apps/v1`
 * Deployment, `batch/v1` Job), the merge patch that binds or unbinds one, and a binding's `BindingAvailable` state
 * from its subjects. A `serving.knative.dev/v1` Service is bound as embedded, through the env of its next revision.
 *
 * A workload Wisp bound carries the annotation `wisp.dev/sinkbinding: <binding>`: that is how Wisp knows, later, that
 * the variables are its own to remove (a workload that sets `K_SINK` itself is never touched), also after a binding
 * was deleted while Wisp was not running. Knative puts a finalizer on the binding instead and undoes the binding
 * before the delete completes; Wisp runs outside the cluster and may be stopped, and a finalizer would then hold
 * every `kubectl delete sinkbinding` (and the deletion of its namespace) until Wisp runs again.
 */
import type { BindingSubject } from '../../api/sinkbinding.js';
import type { KObject } from '../../api/types.js';
import { bindPodSpec, podSpecHasAnySinkEnv, podSpecHasSinkEnv, unbindPodSpec, type EnvPodSpec } from '../pod-env.js';
import type { DeployState } from '../status.js';

/** A workload kind whose pod template a binding patches. */
export interface WorkloadKind {
  apiVersion: string;
  kind: string;
  /** `/apis/<group>/<version>` */
  prefix: string;
  /** Plural resource name. */
  resource: string;
  /**
   * A Job's pod template cannot change once it is created: Wisp never patches it. Jobs created after the binding
   * get the env at admission (job-policy.ts); a Job counts as bound when it was created with the binding's env.
   */
  immutableTemplate: boolean;
}

export const DEPLOYMENT_SUBJECT: WorkloadKind = Object.freeze({ apiVersion: 'apps/v1', kind: 'Deployment', prefix: '/apis/apps/v1', resource: 'deployments', immutableTemplate: false });
export const JOB_SUBJECT: WorkloadKind = Object.freeze({ apiVersion: 'batch/v1', kind: 'Job', prefix: '/apis/batch/v1', resource: 'jobs', immutableTemplate: true });
export const WORKLOAD_SUBJECTS: readonly WorkloadKind[] = Object.freeze([DEPLOYMENT_SUBJECT, JOB_SUBJECT]);
/** Bound through its revisions by the serving reconciler (sinkBindingEnvSource), as embedded. */
export const KSVC_SUBJECT = Object.freeze({ apiVersion: 'serving.knative.dev/v1', kind: 'Service' });

/** Marks a workload whose `K_SINK`/`K_CE_OVERRIDES` Wisp set, with the binding's name. */
export const BOUND_BY_ANNOTATION = 'wisp.dev/sinkbinding';

/** The workload kind a subject names, or undefined (a ksvc, or a kind Wisp does not bind). */
export function workloadKindOf(subject: BindingSubject | undefined): WorkloadKind | undefined {
  return WORKLOAD_SUBJECTS.find((k) => k.apiVersion === subject?.apiVersion && k.kind === subject.kind);
}

/** Whether Wisp binds this subject kind in Kubernetes mode. */
export function isBindableOnKubernetes(subject: BindingSubject | undefined): boolean {
  return workloadKindOf(subject) !== undefined || (subject?.apiVersion === KSVC_SUBJECT.apiVersion && subject.kind === KSVC_SUBJECT.kind);
}

/** What a binding reads of a workload (a Deployment or Job as the API server shows it). */
export interface Workload {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; deletionTimestamp?: unknown } | undefined;
  spec?: { template?: { spec?: EnvPodSpec } } | undefined;
}

/** A workload as bindsTo()/bindingFor() read it: apiVersion, kind, namespace, name, labels. */
export function subjectObject(kind: WorkloadKind, w: Workload): KObject {
  const m = w.metadata ?? {};
  return { apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name: m.name ?? '', namespace: m.namespace ?? '', ...(m.labels && { labels: m.labels }) } };
}

/** The binding a workload is bound by (its annotation), if any. */
export function boundBy(w: Workload): string | undefined {
  const v = w.metadata?.annotations?.[BOUND_BY_ANNOTATION];
  return v === undefined || v === '' ? undefined : v;
}

/** Whether the workload carries `binding`'s env in every container (and Wisp's annotation naming it). */
export function isBoundTo(w: Workload, binding: { name: string; env: Readonly<Record<string, string>> }, kind: WorkloadKind): boolean {
  // A Job is bound at creation by the admission policy, which sets the variables only (no annotation).
  return podSpecHasSinkEnv(w.spec?.template?.spec, binding.env) && (kind.immutableTemplate || boundBy(w) === binding.name);
}

/** A JSON merge patch (RFC 7386) of a workload: the containers lists are replaced whole, `null` removes a key. */
export interface WorkloadPatch {
  metadata: { resourceVersion?: string; annotations: Record<string, string | null> };
  spec: { template: { spec: EnvPodSpec } };
}

/**
 * The merge patch that gives a workload `desired`'s env in every container (and Wisp's annotation), or, with nothing
 * desired, takes the env away from a workload Wisp bound; undefined when nothing is to change (or it is a workload
 * Wisp never bound). It carries the workload's resourceVersion: written over a newer version, the API server answers
 * 409 and the write is tried again from the newer one. Never for a Job (immutable template).
 */
export function workloadPatch(
  w: Workload,
  desired: { name: string; env: Readonly<Record<string, string>> } | undefined,
  kind: WorkloadKind,
): WorkloadPatch | undefined {
  if (kind.immutableTemplate) return undefined;
  const spec = w.spec?.template?.spec ?? {};
  const rv = w.metadata?.resourceVersion;
  let next: EnvPodSpec;
  let marker: string | null;
  if (desired !== undefined) {
    if (isBoundTo(w, desired, kind)) return undefined;
    next = bindPodSpec(spec, desired.env);
    marker = desired.name;
  } else {
    if (boundBy(w) === undefined) return undefined;
    next = podSpecHasAnySinkEnv(spec) ? unbindPodSpec(spec) : spec;
    marker = null;
  }
  const podSpec: EnvPodSpec = { containers: next.containers ?? [] };
  if (next.initContainers !== undefined) podSpec.initContainers = next.initContainers;
  return {
    metadata: { ...(rv !== undefined && { resourceVersion: rv }), annotations: { [BOUND_BY_ANNOTATION]: marker } },
    spec: { template: { spec: podSpec } },
  };
}

/** Where one subject of a binding stands. */
export interface SubjectState {
  /** e.g. `Deployment default/publisher` */
  what: string;
  bound: boolean;
  /** Why it is not bound and will not be without a change (a refused patch, an immutable Job, another binding). */
  problem?: string;
}

function plural(n: number): string {
  return `${n} subject${n === 1 ? '' : 's'}`;
}

/**
 * A binding's `BindingAvailable` from its subjects: True with `bound N subjects`; False with reason `SubjectMissing`
 * (a subject named by `name` that does not exist) or `BindingFailed` (the binding's own `failure`, or the problems,
 * subject by subject); Unknown while patches (or the binding's own `pending` step) are on their way.
 */
export function bindingHealth(o: { subjects: readonly SubjectState[]; missing?: string; listing?: boolean; failure?: string; pending?: string }): DeployState {
  if (o.failure !== undefined) return { kind: 'not-running', reason: 'BindingFailed', message: o.failure };
  if (o.listing) return { kind: 'pending', reason: 'Listing', message: 'Waiting for the first list of the subject kind.' };
  if (o.missing !== undefined) return { kind: 'not-running', reason: 'SubjectMissing', message: o.missing };
  const total = o.subjects.length;
  const bound = o.subjects.filter((s) => s.bound).length;
  const problems = o.subjects.filter((s) => !s.bound && s.problem !== undefined);
  if (problems.length > 0) {
    return { kind: 'not-running', reason: 'BindingFailed', message: `bound ${bound} of ${plural(total)}; ${problems.map((s) => `${s.what}: ${s.problem ?? ''}`).join('; ')}` };
  }
  if (o.pending !== undefined) return { kind: 'pending', reason: 'Binding', message: o.pending };
  if (bound < total) return { kind: 'pending', reason: 'Binding', message: `binding ${plural(total)}: ${bound} bound so far` };
  return { kind: 'running', message: `bound ${plural(total)}` };
}
