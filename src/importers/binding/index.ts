/** Public surface of SinkBinding: its reconciler, the serving reconciler's env source, and the pure subject rules. */
export { SinkBindingsReconciler, SINKBINDINGS } from './reconciler.js';
export type { SinkBindingsReconcilerOptions } from './reconciler.js';
export { sinkBindingEnvSource } from './injector.js';
export { bindsTo, boundEnv } from './subject.js';
export { sinkBindingStatus } from './status.js';
export type { SinkBindingStatus } from './status.js';
