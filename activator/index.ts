export { Activator, REPORT_INTERVAL_MS, pathOf } from './server.js';
export type { ActivatorOptions } from './server.js';
export { Throttler, DEFAULT_QUEUE_DEPTH, DEFAULT_TIMEOUT_SECONDS, timeoutMsOf } from './throttler.js';
export type { ThrottlerOptions } from './throttler.js';
export { Breaker, ReplicaTracker } from './breaker.js';
export { FirstAvailable, RoundRobin, PowerOfTwoChoices, pickerFor } from './lb-policy.js';
export type { ReplicaPicker } from './lb-policy.js';
export { BufferedRequest } from './buffered-request.js';
export type { BufferedState, DispatchWork } from './buffered-request.js';
export { ConcurrencyAccounting } from './concurrency.js';
export type { ConcurrencySample } from './concurrency.js';
export { Router, normaliseHost, pickTarget, unknownHostMessage } from './router.js';
export type { RouterOptions } from './router.js';
export { ActivatorMetrics } from './metrics.js';
export type { ActivatorGaugeSource } from './metrics.js';
export { upstreamRequestHead, stripResponseHeaders, isHopByHop } from './headers.js';
export { COLD_START_HEADER } from './proxy.js';
export {
  ActivatorError,
  ERROR_CODES,
  QueueFullError,
  QueueTimeoutError,
  ResponseTimeoutError,
  RevisionFailedError,
  RevisionRemovedError,
  UpstreamError,
  RequestAbortedError,
  InvalidTransitionError,
  ShuttingDownError,
} from './errors.js';
export type { ActivatorErrorCode } from './errors.js';
export type { ConcurrencyReporter, RevisionState, RouteEntry, RouteTarget, RoutingSnapshot } from './types.js';
export { RemoteReporter, STATS_PER_REPORT } from './stats-client.js';
export type { RemoteReporterOptions } from './stats-client.js';
export { assignedEndpoints, shareOf, SOLE_ACTIVATOR } from './subset.js';
export type { ActivatorShare } from './subset.js';
