/** Public surface of SinkBinding: its reconcilers (embedded, Kubernetes), the serving reconciler's env source, the Kubernetes subjects and Job admission policies, and the pure subject rules. */
export { SinkBindingsReconciler, SINKBINDINGS } from './reconciler.js';
export type { SinkBindingsReconcilerOptions } from './reconciler.js';
export { sinkBindingEnvSource } from './injector.js';
export { bindsTo, boundEnv } from './subject.js';
export { sinkBindingStatus } from './status.js';
export type { SinkBindingStatus } from './status.js';
export { KubeSinkBindingsReconciler, KubeBindingRunner, planKubeBinding } from './kube-reconciler.js';
export type { KubeSinkBindingsReconcilerOptions, KubeBindingRunSpec } from './kube-reconciler.js';
export { WorkloadSubjects } from './kube-binder.js';
export type { WorkloadSubjectsOptions, WorkloadSubjectsView } from './kube-binder.js';
export { JobPolicies } from './job-policies.js';
export type { JobPoliciesOptions, JobPolicyState } from './job-policies.js';
export { jobPolicyObjects, jobPolicyName } from './job-policy.js';
export { BOUND_BY_ANNOTATION, bindingHealth, workloadPatch } from './kube-subjects.js';
export { bindingFor } from './subject.js';
