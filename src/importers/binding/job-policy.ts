/**
 * A SinkBinding of `batch/v1` Jobs as a MutatingAdmissionPolicy (pure). A Job's pod template cannot change once the
 * Job exists, so a Job is bound when it is created or never: Knative binds it in its mutating admission webhook.
 * Wisp runs no webhook (it would need a TLS endpoint the API server calls); it writes, per binding, a
 * `admissionregistration.k8s.io/v1` MutatingAdmissionPolicy and its binding instead, and the API server itself sets
 * `K_SINK`/`K_CE_OVERRIDES` in every container of each Job the binding selects as it is created (a CEL
 * ApplyConfiguration, merged by container name and variable name).
 *
 * Both objects are cluster-scoped, named `wisp-sinkbinding.<namespace>.<binding>` and labelled with the binding's
 * namespace, so a Wisp scoped to one namespace finds (and cleans up) only its own. They cannot be owned by the
 * namespaced SinkBinding (the garbage collector ignores such owners): Wisp deletes them when the binding goes, and
 * deletes leftovers of bindings deleted while it was stopped when it starts.
 */
import type { BindingSubject } from '../../api/sinkbinding.js';
import type { KObject } from '../../api/types.js';
import { SINK_ENV_NAMES } from '../pod-env.js';

export const ADMISSION_API = 'admissionregistration.k8s.io/v1';
export const POLICIES = 'mutatingadmissionpolicies';
export const POLICY_BINDINGS = 'mutatingadmissionpolicybindings';
/** Labels of the policies Wisp writes. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'wisp';
export const BINDING_NAMESPACE_LABEL = 'wisp.dev/sinkbinding-namespace';
/** Which binding a policy stands for (`<namespace>/<name>`). */
export const BINDING_ANNOTATION = 'wisp.dev/sinkbinding';

/** `wisp-sinkbinding.<namespace>.<binding>` (a DNS subdomain: a namespace is a label, a binding's name a subdomain). */
export function jobPolicyName(namespace: string, binding: string): string {
  return `wisp-sinkbinding.${namespace}.${binding}`;
}

/** A CEL string literal (CEL's escapes are JSON's). */
function cel(s: string): string {
  return JSON.stringify(s);
}

/** The CEL ApplyConfiguration that sets `env` in every container (and init container) of a Job's pod template. */
export function jobEnvExpression(env: Readonly<Record<string, string>>): string {
  const t = 'Object.spec.template.spec';
  const entries = (list: string) =>
    SINK_ENV_NAMES.filter((n) => env[n] !== undefined)
      .map((n) => `${t}.${list}.env{name: ${cel(n)}, value: ${cel(env[n] ?? '')}}`)
      .join(', ');
  const mapped = (list: string) => `object.spec.template.spec.${list}.map(c, ${t}.${list}{name: c.name, env: [${entries(list)}]})`;
  const wrap = (inner: string) => `Object{spec: Object.spec{template: Object.spec.template{spec: ${t}{${inner}}}}}`;
  const containers = `containers: ${mapped('containers')}`;
  return `has(object.spec.template.spec.initContainers) ? ${wrap(`${containers}, initContainers: ${mapped('initContainers')}`)} : ${wrap(containers)}`;
}

/** A cluster-scoped object Wisp writes (no namespace). */
export interface ClusterObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
  spec?: unknown;
}

/** What identifies a policy's binding: its namespace label and annotation. */
function meta(namespace: string, binding: string) {
  return {
    name: jobPolicyName(namespace, binding),
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [BINDING_NAMESPACE_LABEL]: namespace },
    annotations: { [BINDING_ANNOTATION]: `${namespace}/${binding}` },
  };
}

/**
 * The MutatingAdmissionPolicy and MutatingAdmissionPolicyBinding of a Job binding: Jobs created in the binding's
 * namespace, selected by its selector (or by name, in a match condition), get `env`. `failurePolicy: Ignore`: a Job
 * is never refused because of a binding.
 */
export function jobPolicyObjects(binding: KObject, env: Readonly<Record<string, string>>): { policy: ClusterObject; policyBinding: ClusterObject } {
  const { namespace, name } = binding.metadata;
  const subject = ((binding.spec ?? {}) as { subject?: BindingSubject }).subject ?? {};
  const m = meta(namespace, name);
  const byName = subject.name !== undefined && subject.name !== '';
  const policy: ClusterObject = {
    apiVersion: ADMISSION_API,
    kind: 'MutatingAdmissionPolicy',
    metadata: m,
    spec: {
      failurePolicy: 'Ignore',
      reinvocationPolicy: 'Never',
      matchConstraints: {
        resourceRules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        ...(!byName && subject.selector !== undefined && { objectSelector: subject.selector }),
      },
      ...(byName && { matchConditions: [{ name: 'subject-name', expression: `object.metadata.name == ${cel(subject.name ?? '')}` }] }),
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: jobEnvExpression(env) } }],
    },
  };
  const policyBinding: ClusterObject = {
    apiVersion: ADMISSION_API,
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: meta(namespace, name),
    spec: { policyName: m.name },
  };
  return { policy, policyBinding };
}

/** The binding (`<namespace>/<name>`) a policy Wisp wrote stands for. */
export function bindingOfPolicy(obj: { metadata?: { annotations?: Record<string, string> } }): string | undefined {
  return obj.metadata?.annotations?.[BINDING_ANNOTATION];
}
