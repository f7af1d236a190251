/** Public surface of the importers (event sources): PingSource's reconciler, runner and pure schedule/event helpers. */
export { ImportersReconciler } from './reconciler.js';
export type { ImportersReconcilerOptions, PingSourceSpec } from './reconciler.js';
export { PingSourceRunner, DEFAULT_PING_DELIVERY } from './ping/runner.js';
export type { PingDeliveryPolicy, PingOutcome, PingRunSpec, PingSourceRunnerOptions } from './ping/runner.js';
export { nextFire, scheduleProblem, isKnownTimeZone, DEFAULT_TIMEZONE } from './ping/schedule.js';
export { pingEvent, pingSourceUri, PING_EVENT_TYPE } from './ping/event.js';
export type { PingPayload } from './ping/event.js';
export { pingSourceStatus, sourceStatus } from './status.js';
export type { PingSourceStatus, SourceStatus, SinkState, DeployState } from './status.js';
export { deliverToSink } from './deliver.js';
export type { DeliverToSinkOptions, SinkDeliveryResult, SinkRetryPolicy } from './deliver.js';
export { SourceReconciler } from './source-reconciler.js';
export type { SourceKind, SourcePlan, SourceReconcilerOptions, SourceRunner } from './source-reconciler.js';
export { IMPORTER_ERROR_CODES, SourceDeliveryError, SourceOverloadedError, ScheduleError } from './errors.js';
export type { ImporterErrorCode } from './errors.js';
export { ContainerSourcesReconciler, ContainerSourceRunner, containerSourceEnv, planContainerSource, containerHealth } from './container/index.js';
export type { ContainerSourcesReconcilerOptions, ContainerSourceRunnerOptions, ContainerWorkloads, ContainerRunSpec } from './container/index.js';
