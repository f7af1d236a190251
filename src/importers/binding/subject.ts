/**
 * Which objects a SinkBinding binds, and the environment a subject gets from its bindings. Pure.
 *
 * When two bindings name the same subject, the one whose name sorts last sets its env (Knative leaves that case
 * undefined; a fixed choice keeps revisions from flapping). A binding whose sink has not resolved (no
 * `status.sinkUri`) injects nothing, as Knative binds only a resolved sink.
 */
import type { BindingSubject } from '../../api/sinkbinding.js';
import { labelSelectorMatches } from '../../api/selector.js';
import type { EnvVar, KObject } from '../../api/types.js';
import { sinkEnv, type CeOverrides } from '../sink-env.js';

interface BindingSpec {
  subject?: BindingSubject;
  ceOverrides?: CeOverrides;
}

const specOf = (binding: KObject): BindingSpec => (binding.spec ?? {}) as BindingSpec;

/** Whether `binding`'s subject is this object (same namespace, apiVersion and kind; by name or by label selector). */
export function bindsTo(binding: KObject, obj: KObject): boolean {
  const subject = specOf(binding).subject;
  if (!subject) return false;
  const ns = subject.namespace ?? binding.metadata.namespace;
  if (obj.metadata.namespace !== ns || obj.apiVersion !== subject.apiVersion || obj.kind !== subject.kind) return false;
  if (subject.name !== undefined && subject.name !== '') return obj.metadata.name === subject.name;
  return subject.selector !== undefined && labelSelectorMatches(subject.selector, obj.metadata.labels);
}

/**
 * The binding (the last by name) that binds `obj` with a resolved sink, and the `K_SINK`/`K_CE_OVERRIDES` it gives;
 * `settled` is false while a binding that binds it has not been reconciled (its status is older than its spec).
 * Any subject kind: a Service here, a Deployment or Job on Kubernetes.
 */
export function bindingFor(obj: KObject, bindings: readonly KObject[]): { binding?: { name: string; env: Record<string, string> }; settled: boolean } {
  let chosen: { name: string; env: Record<string, string> } | undefined;
  let settled = true;
  for (const b of bindings) {
    if (!bindsTo(b, obj)) continue;
    const status = b.status as { sinkUri?: string; observedGeneration?: number } | undefined;
    if (status?.observedGeneration !== (b.metadata.generation ?? 1)) settled = false;
    const sinkUri = status?.sinkUri;
    if (sinkUri === undefined || sinkUri === '') continue;
    if (chosen === undefined || b.metadata.name > chosen.name) chosen = { name: b.metadata.name, env: sinkEnv(sinkUri, specOf(b).ceOverrides) };
  }
  return { ...(chosen !== undefined && { binding: chosen }), settled };
}

/** The `K_SINK`/`K_CE_OVERRIDES` env a Service's next revision gets from its bindings (see bindingFor). */
export function boundEnv(svc: KObject, bindings: readonly KObject[]): { env: EnvVar[]; settled: boolean } {
  const { binding, settled } = bindingFor(svc, bindings);
  return { env: Object.entries(binding?.env ?? {}).map(([name, value]) => ({ name, value })), settled };
}
