/**
 * Knative's autoscaling constants and the platform-wide defaults of `config-autoscaler`, in one place.
 * Source: knative/serving `pkg/autoscaler/config/config.go` and `pkg/apis/autoscaling/register.go`.
 * Durations are milliseconds.
 */

/** `kpa.autoscaling.knative.dev`: the only autoscaler class Wisp implements. */
export const KPA_CLASS = 'kpa.autoscaling.knative.dev';
/** `hpa.autoscaling.knative.dev`: Kubernetes' HPA, which Wisp does not run. */
export const HPA_CLASS = 'hpa.autoscaling.knative.dev';

/** Smallest target a revision may have (small containerConcurrency × utilization can go below 1). */
export const TARGET_MIN = 0.01;
/** Stable window bounds: Knative ticks every 2 s, so anything under 6 s misses data; over 1 h is too imprecise. */
export const WINDOW_MIN_MS = 6_000;
export const WINDOW_MAX_MS = 3_600_000;
export const PANIC_WINDOW_PERCENTAGE_MIN = 1;
export const PANIC_WINDOW_PERCENTAGE_MAX = 100;
export const PANIC_THRESHOLD_PERCENTAGE_MIN = 110;
export const PANIC_THRESHOLD_PERCENTAGE_MAX = 1000;
export const MAX_INT32 = 2_147_483_647;
/** Metric bucket size (Knative's `config.BucketSize`). */
export const BUCKET_MS = 1_000;
/** How often the decider runs per revision (Knative's `tickInterval`). */
export const DEFAULT_TICK_MS = 2_000;

/** The platform-wide autoscaler settings: Knative's `config-autoscaler`, parsed. */
export interface AutoscalerConfig {
  /** `pod-autoscaler-class` */
  podAutoscalerClass: string;
  /** `enable-scale-to-zero` */
  enableScaleToZero: boolean;
  /** `allow-zero-initial-scale` */
  allowZeroInitialScale: boolean;
  /** `container-concurrency-target-percentage` as a fraction in (0, 1] (`70` ⇒ 0.7; legacy values ≤ 1 are already fractions). */
  containerConcurrencyTargetFraction: number;
  /** `container-concurrency-target-default`: per-replica concurrency target when containerConcurrency is 0. */
  containerConcurrencyTargetDefault: number;
  /** `requests-per-second-target-default` (parsed for parity; Wisp's KPA scales on concurrency). */
  requestsPerSecondTargetDefault: number;
  /** Utilization for the RPS metric (not a ConfigMap key in Knative; fixed at 0.7). */
  targetUtilization: number;
  /** `target-burst-capacity`: -1 unlimited, 0 none, > 0 requests. */
  targetBurstCapacity: number;
  /** `panic-window-percentage`: panic window as a percentage of the stable window, in [1, 100]. */
  panicWindowPercentage: number;
  /** `panic-threshold-percentage`: panic when the panic-window pod count reaches this percentage of the ready pods. */
  panicThresholdPercentage: number;
  /** `max-scale-up-rate`: > 1. */
  maxScaleUpRate: number;
  /** `max-scale-down-rate`: > 1. */
  maxScaleDownRate: number;
  /** `activator-capacity`: ≥ 1. */
  activatorCapacity: number;
  /** `initial-scale` */
  initialScale: number;
  /** `min-scale` */
  minScale: number;
  /** `max-scale`: 0 = unlimited. */
  maxScale: number;
  /** `max-scale-limit`: 0 = no limit on max-scale. */
  maxScaleLimit: number;
  /** `stable-window` */
  stableWindowMs: number;
  /** `scale-down-delay` */
  scaleDownDelayMs: number;
  /** `scale-to-zero-grace-period` */
  scaleToZeroGracePeriodMs: number;
  /** `scale-to-zero-pod-retention-period` */
  scaleToZeroPodRetentionPeriodMs: number;
}

/** Knative's defaults (serving ≥ 1.0: target-burst-capacity 211). */
export const DEFAULT_AUTOSCALER_CONFIG: Readonly<AutoscalerConfig> = Object.freeze({
  podAutoscalerClass: KPA_CLASS,
  enableScaleToZero: true,
  allowZeroInitialScale: false,
  containerConcurrencyTargetFraction: 0.7,
  containerConcurrencyTargetDefault: 100,
  requestsPerSecondTargetDefault: 200,
  targetUtilization: 0.7,
  targetBurstCapacity: 211,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  activatorCapacity: 100,
  initialScale: 1,
  minScale: 0,
  maxScale: 0,
  maxScaleLimit: 0,
  stableWindowMs: 60_000,
  scaleDownDelayMs: 0,
  scaleToZeroGracePeriodMs: 30_000,
  scaleToZeroPodRetentionPeriodMs: 0,
});

/** Every `config-autoscaler` data key Wisp reads, with the config field it sets. */
export const AUTOSCALER_CONFIG_KEYS = Object.freeze({
  'pod-autoscaler-class': 'podAutoscalerClass',
  'enable-scale-to-zero': 'enableScaleToZero',
  'allow-zero-initial-scale': 'allowZeroInitialScale',
  'container-concurrency-target-percentage': 'containerConcurrencyTargetFraction',
  'container-concurrency-target-default': 'containerConcurrencyTargetDefault',
  'requests-per-second-target-default': 'requestsPerSecondTargetDefault',
  'target-burst-capacity': 'targetBurstCapacity',
  'panic-window-percentage': 'panicWindowPercentage',
  'panic-threshold-percentage': 'panicThresholdPercentage',
  'max-scale-up-rate': 'maxScaleUpRate',
  'max-scale-down-rate': 'maxScaleDownRate',
  'activator-capacity': 'activatorCapacity',
  'initial-scale': 'initialScale',
  'min-scale': 'minScale',
  'max-scale': 'maxScale',
  'max-scale-limit': 'maxScaleLimit',
  'stable-window': 'stableWindowMs',
  'scale-down-delay': 'scaleDownDelayMs',
  'scale-to-zero-grace-period': 'scaleToZeroGracePeriodMs',
  'scale-to-zero-pod-retention-period': 'scaleToZeroPodRetentionPeriodMs',
} as const satisfies Record<string, keyof AutoscalerConfig>);

export type AutoscalerConfigKey = keyof typeof AUTOSCALER_CONFIG_KEYS;
