/** Public surface of the ApiServerSource importer: reconciler, runners (embedded store, Kubernetes), pure event mapping and status. */
export { ApiServerSourcesReconciler } from './reconciler.js';
export type { ApiServerClusterOptions, ApiServerRunner, ApiServerSourcesReconcilerOptions, ApiServerSourceSpec } from './reconciler.js';
export { ApiServerSourceRunner, DEFAULT_API_SERVER_DELIVERY } from './runner.js';
export type { ApiServerDeliveryPolicy, ApiServerOutcome, ApiServerRunSpec, ApiServerSourceRunnerOptions } from './runner.js';
export { KubeApiServerSourceRunner } from './kube-runner.js';
export type { KubeApiServerAccess, KubeApiServerSourceRunnerOptions } from './kube-runner.js';
export { kubeApiServerAccess, impersonating } from './kube-access.js';
export { ApiDiscovery } from './discovery.js';
export type { Backoff, KubeWatchApi, ListWatchState } from './kube-list-watch.js';
export {
  DEFAULT_SERVICE_ACCOUNT,
  labelSelectorString,
  namespacePlan,
  relistChanges,
  serviceAccountUser,
  watchProblem,
} from './kube-spec.js';
export type { KubeApiServerRunSpec, NamespacePlan, ObjectChange, WatchProblem } from './kube-spec.js';
export { apiServerEvent, eventFor, watches, ownerMatches, apiServerEventType, apiServerEventTypes, apiServerSubject, DEFAULT_API_SERVER_MODE } from './event.js';
export type { ApiServerEventInput, ApiServerMode, ApiServerOwner, ApiServerResource, ApiServerWatchSpec } from './event.js';
export { apiServerSourceStatus } from './status.js';
export type { ApiServerSourceStatus } from './status.js';
