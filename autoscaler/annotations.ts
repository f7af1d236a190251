/**
 * Per-revision `autoscaling.knative.dev/*` annotations: validation with Knative's ranges and messages
 * (knative/serving `pkg/apis/autoscaling/annotation_validation.go`), and the merge with the platform config
 * into the settings the decider runs on (`pkg/reconciler/autoscaling/kpa/resources/decider.go`). Pure.
 */
import { formatGoDuration } from './duration.js';
import {
  BUCKET_MS,
  DEFAULT_AUTOSCALER_CONFIG,
  HPA_CLASS,
  KPA_CLASS,
  MAX_INT32,
  PANIC_THRESHOLD_PERCENTAGE_MAX,
  PANIC_THRESHOLD_PERCENTAGE_MIN,
  PANIC_WINDOW_PERCENTAGE_MAX,
  PANIC_WINDOW_PERCENTAGE_MIN,
  TARGET_MIN,
  WINDOW_MAX_MS,
  WINDOW_MIN_MS,
  type AutoscalerConfig,
} from './defaults.js';
import { ScalingAnnotationsError, type FieldIssue } from './errors.js';
import { isWholeSeconds, parseDuration, parseFloat64, parseInt32 } from './parse.js';

const GROUP = 'autoscaling.knative.dev';

/** Annotation name → accepted keys, current (kebab-case) first, then Knative's legacy camelCase alias. */
export const SCALING_ANNOTATIONS = Object.freeze({
  class: [`${GROUP}/class`],
  minScale: [`${GROUP}/min-scale`, `${GROUP}/minScale`],
  maxScale: [`${GROUP}/max-scale`, `${GROUP}/maxScale`],
  initialScale: [`${GROUP}/initial-scale`, `${GROUP}/initialScale`],
  activationScale: [`${GROUP}/activation-scale`],
  target: [`${GROUP}/target`],
  targetUtilizationPercentage: [`${GROUP}/target-utilization-percentage`, `${GROUP}/targetUtilizationPercentage`],
  metric: [`${GROUP}/metric`],
  window: [`${GROUP}/window`],
  panicWindowPercentage: [`${GROUP}/panic-window-percentage`, `${GROUP}/panicWindowPercentage`],
  panicThresholdPercentage: [`${GROUP}/panic-threshold-percentage`, `${GROUP}/panicThresholdPercentage`],
  scaleDownDelay: [`${GROUP}/scale-down-delay`, `${GROUP}/scaleDownDelay`],
  scaleToZeroPodRetentionPeriod: [`${GROUP}/scale-to-zero-pod-retention-period`, `${GROUP}/scaleToZeroPodRetentionPeriod`],
  targetBurstCapacity: [`${GROUP}/target-burst-capacity`, `${GROUP}/targetBurstCapacity`],
} as const);

export type ScalingAnnotation = keyof typeof SCALING_ANNOTATIONS;

/** The settings one revision's decider runs on: the platform config merged with the revision's annotations. */
export interface ScalingSpec {
  metric: 'concurrency';
  /** Per-replica concurrency the KPA aims for: max(0.01, total × utilization). */
  target: number;
  /** Per-replica capacity before utilization: containerConcurrency, the default, or the target annotation (trimmed to cc). */
  totalValue: number;
  /** Fraction in (0, 1]. */
  targetUtilization: number;
  targetBurstCapacity: number;
  stableWindowMs: number;
  /** Stable window × panic-window-percentage, rounded to whole 1 s buckets, at least 1 s. */
  panicWindowMs: number;
  /** Ratio: 200 % ⇒ 2.0. */
  panicThreshold: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  minScale: number;
  /** 0 = unlimited. */
  maxScale: number;
  initialScale: number;
  /** Smallest non-zero count when scaling up from zero (1 when unset). */
  activationScale: number;
  scaleDownDelayMs: number;
  scaleToZeroGracePeriodMs: number;
  scaleToZeroPodRetentionPeriodMs: number;
  enableScaleToZero: boolean;
}

type Annotations = Readonly<Record<string, string>> | undefined;

function field(key: string): string {
  return `metadata.annotations[${key}]`;
}

/** The value of an annotation under its first set key (current name before legacy alias). */
function lookup(anns: Annotations, name: ScalingAnnotation): { key: string; value: string } | undefined {
  for (const key of SCALING_ANNOTATIONS[name]) {
    const value = anns?.[key];
    if (value !== undefined) return { key, value };
  }
  return undefined;
}

/** Every problem with the autoscaling annotations; `config` supplies the cluster rules (max-scale-limit, allow-zero-initial-scale). */
export function validateScalingAnnotations(annotations: Annotations, config: AutoscalerConfig = DEFAULT_AUTOSCALER_CONFIG): FieldIssue[] {
  return resolve(annotations, config).issues;
}

interface Resolved {
  issues: FieldIssue[];
  values: Partial<Record<ScalingAnnotation, number | string>>;
}

function resolve(anns: Annotations, config: AutoscalerConfig): Resolved {
  const issues: FieldIssue[] = [];
  const values: Resolved['values'] = {};
  const bad = (key: string, message: string): void => void issues.push({ field: field(key), message });

  for (const [name, keys] of Object.entries(SCALING_ANNOTATIONS)) {
    const set = keys.filter((k) => anns?.[k] !== undefined);
    if (set.length > 1) bad(set[1] ?? '', `only one of ${set.join(', ')} may be set (${name})`);
  }

  const cls = lookup(anns, 'class');
  if (cls) {
    if (cls.value === HPA_CLASS) bad(cls.key, `class ${HPA_CLASS} is not supported: Wisp runs only ${KPA_CLASS}`);
    else if (cls.value !== KPA_CLASS && cls.value.endsWith('.knative.dev')) bad(cls.key, `invalid value: ${cls.value}`);
  }

  const int = (name: ScalingAnnotation, lower: number): number | undefined => {
    const a = lookup(anns, name);
    if (!a) return undefined;
    const p = parseInt32(a.value, lower);
    if (!p.ok) return void bad(a.key, p.message);
    if (p.value < lower) return void bad(a.key, `expected ${lower} <= ${a.value} <= ${MAX_INT32}`);
    values[name] = p.value;
    return p.value;
  };
  const min = int('minScale', 0);
  const max = int('maxScale', 0);
  const maxA = lookup(anns, 'maxScale');
  if (min !== undefined && max !== undefined && max !== 0 && max < min) {
    bad(maxA?.key ?? '', `max-scale=${max} is less than min-scale=${min}`);
  }
  if (maxA && max !== undefined && config.maxScaleLimit > 0) {
    if (max === 0) bad(maxA.key, `max-scale=0 (unlimited), must be less than ${config.maxScaleLimit} (max-scale-limit)`);
    else if (max > config.maxScaleLimit) bad(maxA.key, `expected 1 <= ${max} <= ${config.maxScaleLimit}`);
  }
  const activation = int('activationScale', 1);
  if (activation !== undefined) {
    const actKey = lookup(anns, 'activationScale')?.key ?? '';
    const effMax = max ?? config.maxScale;
    if (effMax !== 0 && activation > effMax) bad(actKey, `activation-scale=${activation} is greater than max-scale=${effMax}`);
  }
  const initial = lookup(anns, 'initialScale');
  if (initial) {
    const p = parseInt32(initial.value, 0);
    if (!p.ok) bad(initial.key, p.message);
    else if (p.value < 0) bad(initial.key, `expected 0 <= ${initial.value} <= ${MAX_INT32}`);
    else if (p.value === 0 && !config.allowZeroInitialScale) bad(initial.key, 'initial-scale=0 not allowed by cluster (allow-zero-initial-scale is false)');
    else values.initialScale = p.value;
  }

  const float = (name: ScalingAnnotation, check: (v: number, raw: string) => string | undefined): void => {
    const a = lookup(anns, name);
    if (!a) return;
    const p = parseFloat64(a.value);
    if (!p.ok) return bad(a.key, p.message);
    const why = check(p.value, a.value);
    if (why !== undefined) return bad(a.key, why);
    values[name] = p.value;
  };
  const range = (lo: number, hi: number) => (v: number, raw: string) => (v < lo || v > hi ? `expected ${lo} <= ${raw} <= ${hi}` : undefined);
  float('panicWindowPercentage', range(PANIC_WINDOW_PERCENTAGE_MIN, PANIC_WINDOW_PERCENTAGE_MAX));
  float('panicThresholdPercentage', range(PANIC_THRESHOLD_PERCENTAGE_MIN, PANIC_THRESHOLD_PERCENTAGE_MAX));
  float('target', (v, raw) => (v < TARGET_MIN ? `target ${raw} should be at least ${TARGET_MIN}` : undefined));
  float('targetUtilizationPercentage', range(1, 100));
  float('targetBurstCapacity', (v, raw) => (v < 0 && v !== -1 ? `invalid value: ${raw} (must be non-negative, or -1 for unlimited)` : undefined));

  const duration = (name: ScalingAnnotation, lo: number, hi: number): void => {
    const a = lookup(anns, name);
    if (!a) return;
    const p = parseDuration(a.value);
    if (!p.ok) return bad(a.key, p.message);
    if (p.value < lo || p.value > hi) return bad(a.key, `expected ${formatGoDuration(lo)} <= ${a.value} <= ${formatGoDuration(hi)}`);
    if (name !== 'scaleToZeroPodRetentionPeriod' && !isWholeSeconds(p.value)) return bad(a.key, 'must be specified with at most second precision');
    values[name] = p.value;
  };
  duration('window', WINDOW_MIN_MS, WINDOW_MAX_MS);
  duration('scaleDownDelay', 0, WINDOW_MAX_MS);
  duration('scaleToZeroPodRetentionPeriod', 0, WINDOW_MAX_MS);

  const metric = lookup(anns, 'metric');
  if (metric && metric.value !== 'concurrency') {
    if (metric.value === 'rps') {
      bad(metric.key, 'metric "rps" is not supported by Wisp\'s KPA: the activator measures concurrency, not request rate; use "concurrency"');
    } else {
      bad(metric.key, `invalid value: ${metric.value} (the KPA scales on "concurrency" or "rps")`);
    }
  }
  return { issues, values };
}

/**
 * The merged, validated settings for one revision. Throws ScalingAnnotationsError when an annotation is invalid.
 * Target (Knative's ResolveMetricTarget): total = containerConcurrency if > 0, else the default; the target
 * annotation replaces it, trimmed to containerConcurrency when that is > 0; target = max(0.01, total × utilization).
 */
export function scalingSpecFor(config: AutoscalerConfig, annotations: Annotations, containerConcurrency: number): ScalingSpec {
  const { issues, values: v } = resolve(annotations, config);
  if (issues.length > 0) throw new ScalingAnnotationsError(issues);
  const num = (name: ScalingAnnotation): number | undefined => {
    const x = v[name];
    return typeof x === 'number' ? x : undefined;
  };

  const cc = containerConcurrency > 0 ? containerConcurrency : 0;
  let total = cc > 0 ? cc : config.containerConcurrencyTargetDefault;
  const annTarget = num('target');
  if (annTarget !== undefined) total = cc > 0 ? Math.min(annTarget, cc) : annTarget;
  const utilPct = num('targetUtilizationPercentage');
  const utilization = utilPct !== undefined ? utilPct / 100 : config.containerConcurrencyTargetFraction;

  const stableWindowMs = num('window') ?? config.stableWindowMs;
  const panicPct = num('panicWindowPercentage') ?? config.panicWindowPercentage;
  const panicWindowMs = Math.max(BUCKET_MS, Math.round((stableWindowMs * panicPct) / 100 / BUCKET_MS) * BUCKET_MS);
  const minScale = num('minScale') ?? config.minScale;
  const maxScale = num('maxScale') ?? config.maxScale;

  return {
    metric: 'concurrency',
    target: Math.max(TARGET_MIN, total * utilization),
    totalValue: total,
    targetUtilization: utilization,
    targetBurstCapacity: num('targetBurstCapacity') ?? config.targetBurstCapacity,
    stableWindowMs,
    panicWindowMs,
    panicThreshold: (num('panicThresholdPercentage') ?? config.panicThresholdPercentage) / 100,
    maxScaleUpRate: config.maxScaleUpRate,
    maxScaleDownRate: config.maxScaleDownRate,
    minScale,
    maxScale,
    initialScale: num('initialScale') ?? config.initialScale,
    activationScale: num('activationScale') ?? 1,
    scaleDownDelayMs: num('scaleDownDelay') ?? config.scaleDownDelayMs,
    scaleToZeroGracePeriodMs: config.scaleToZeroGracePeriodMs,
    scaleToZeroPodRetentionPeriodMs: num('scaleToZeroPodRetentionPeriod') ?? config.scaleToZeroPodRetentionPeriodMs,
    enableScaleToZero: config.enableScaleToZero,
  };
}
