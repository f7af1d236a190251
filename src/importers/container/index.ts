/** Public surface of the ContainerSource importer: reconciler, runner, pure plan/env and health. */
export { ContainerSourcesReconciler } from './reconciler.js';
export type { ContainerSourcesReconcilerOptions } from './reconciler.js';
export { ContainerSourceRunner } from './runner.js';
export type { ContainerSourceRunnerOptions, ContainerWorkloads } from './runner.js';
export { planContainerSource } from './plan.js';
export type { ContainerRunSpec } from './plan.js';
export { containerHealth } from './health.js';
