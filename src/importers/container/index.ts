/** Public surface of the ContainerSource importer: its reconcilers and runners (local processes, Kubernetes Deployments), pure plans and health. */
export { ContainerSourcesReconciler } from './reconciler.js';
export type { ContainerSourcesReconcilerOptions } from './reconciler.js';
export { ContainerSourceRunner } from './runner.js';
export type { ContainerSourceRunnerOptions, ContainerWorkloads } from './runner.js';
export { planContainerSource } from './plan.js';
export type { ContainerRunSpec } from './plan.js';
export { containerHealth } from './health.js';
export { KubeContainerSourcesReconciler } from './kube-reconciler.js';
export type { KubeContainerSourcesReconcilerOptions } from './kube-reconciler.js';
export { KubeContainerSources, KubeContainerSourceRunner } from './kube-runner.js';
export type { KubeContainerSourcesOptions, KubeContainerSourceRunnerOptions } from './kube-runner.js';
export { buildContainerSourceDeployment, containerSourceHealth, planKubeContainerSource, CONTAINER_SOURCE_LABEL } from './kube-plan.js';
export type { KubeContainerRunSpec, ObservedContainerSource } from './kube-plan.js';
