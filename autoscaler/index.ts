/** The autoscaler's public surface: Knative's KPA (config-autoscaler, annotations, metric windows, decider, loop). */
export { DEFAULT_AUTOSCALER_CONFIG, AUTOSCALER_CONFIG_KEYS, KPA_CLASS, HPA_CLASS, TARGET_MIN, WINDOW_MIN_MS, WINDOW_MAX_MS, BUCKET_MS, DEFAULT_TICK_MS } from './defaults.js';
export type { AutoscalerConfig, AutoscalerConfigKey } from './defaults.js';
export { parseAutoscalerConfigMap, validateAutoscalerConfigMap, unknownAutoscalerConfigKeys } from './config.js';
export { validateScalingAnnotations, scalingSpecFor, SCALING_ANNOTATIONS } from './annotations.js';
export type { ScalingSpec, ScalingAnnotation } from './annotations.js';
export { TimedBuckets, NO_DATA } from './bucketing.js';
export type { WindowAverage, TimedBucketsOptions } from './bucketing.js';
export {
  decide,
  kpaScale,
  applyBounds,
  initialScaleOf,
  activationScaleOf,
  initialDeciderState,
  pokeDecider,
  DEFAULT_ACTIVATION_TIMEOUT_MS,
} from './decider.js';
export type { Decision, DecisionReason, DeciderInput, DeciderState, DelayEntry, ScalePhase } from './decider.js';
export { Autoscaler } from './loop.js';
export type { AutoscalerOptions, RevisionScalingOptions, RevisionScaleState } from './loop.js';
export { AutoscalerError, AutoscalerConfigError, ScalingAnnotationsError, ERROR_CODES } from './errors.js';
export type { AutoscalerErrorCode, FieldIssue } from './errors.js';
export { parseGoDuration, formatGoDuration } from './duration.js';
export { buildStatsServer, STATS_PATH, POKE_PATH, MAX_STATS_PER_REPORT, ACTIVATOR_TTL_MS } from './stats-server.js';
export type { StatsSink } from './stats-server.js';
