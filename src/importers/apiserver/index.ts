/** Public surface of the ApiServerSource importer: reconciler, runner, pure event mapping and status. */
export { ApiServerSourcesReconciler } from './reconciler.js';
export type { ApiServerSourcesReconcilerOptions, ApiServerSourceSpec } from './reconciler.js';
export { ApiServerSourceRunner, DEFAULT_API_SERVER_DELIVERY } from './runner.js';
export type { ApiServerDeliveryPolicy, ApiServerOutcome, ApiServerRunSpec, ApiServerSourceRunnerOptions } from './runner.js';
export { eventFor, watches, apiServerEventType, apiServerEventTypes, apiServerSubject, DEFAULT_API_SERVER_MODE } from './event.js';
export type { ApiServerMode, ApiServerResource, ApiServerWatchSpec } from './event.js';
export { apiServerSourceStatus } from './status.js';
export type { ApiServerSourceStatus } from './status.js';
