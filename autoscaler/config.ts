/**
 * `config-autoscaler` ConfigMap → AutoscalerConfig: defaults (defaults.ts) → parse → validate (incl. rules across keys) → freeze.
 * Mirrors knative/serving `pkg/autoscaler/config/config.go`. Pure.
 */
import { formatGoDuration } from './duration.js';
import {
  AUTOSCALER_CONFIG_KEYS,
  DEFAULT_AUTOSCALER_CONFIG,
  KPA_CLASS,
  PANIC_WINDOW_PERCENTAGE_MAX,
  PANIC_WINDOW_PERCENTAGE_MIN,
  TARGET_MIN,
  WINDOW_MAX_MS,
  WINDOW_MIN_MS,
  type AutoscalerConfig,
  type AutoscalerConfigKey,
} from './defaults.js';
import { AutoscalerConfigError, type FieldIssue } from './errors.js';
import { isWholeSeconds, parseBool, parseDuration, parseFloat64, parseInt32, type Parsed } from './parse.js';

type Kind = 'string' | 'bool' | 'float' | 'int' | 'duration';

const KINDS: Readonly<Record<AutoscalerConfigKey, Kind>> = {
  'pod-autoscaler-class': 'string',
  'enable-scale-to-zero': 'bool',
  'allow-zero-initial-scale': 'bool',
  'container-concurrency-target-percentage': 'float',
  'container-concurrency-target-default': 'float',
  'requests-per-second-target-default': 'float',
  'target-burst-capacity': 'float',
  'panic-window-percentage': 'float',
  'panic-threshold-percentage': 'float',
  'max-scale-up-rate': 'float',
  'max-scale-down-rate': 'float',
  'activator-capacity': 'float',
  'initial-scale': 'int',
  'min-scale': 'int',
  'max-scale': 'int',
  'max-scale-limit': 'int',
  'stable-window': 'duration',
  'scale-down-delay': 'duration',
  'scale-to-zero-grace-period': 'duration',
  'scale-to-zero-pod-retention-period': 'duration',
};

/** Every problem in the ConfigMap's `data`, as `{ field: 'data.<key>', message }`; empty when it is valid. */
export function validateAutoscalerConfigMap(data: Readonly<Record<string, string>> | undefined): FieldIssue[] {
  return build(data ?? {}).issues;
}

/** The frozen config from a `config-autoscaler` ConfigMap's `data`. Throws AutoscalerConfigError naming each bad key. */
export function parseAutoscalerConfigMap(data: Readonly<Record<string, string>> | undefined): AutoscalerConfig {
  const { config, issues } = build(data ?? {});
  if (issues.length > 0) throw new AutoscalerConfigError(issues);
  return Object.freeze(config);
}

/** Keys in `data` that Wisp does not read (Knative ignores them too; `_example` and other `_` keys are documentation). */
export function unknownAutoscalerConfigKeys(data: Readonly<Record<string, string>> | undefined): string[] {
  return Object.keys(data ?? {}).filter((k) => !k.startsWith('_') && !Object.hasOwn(AUTOSCALER_CONFIG_KEYS, k));
}

function build(data: Readonly<Record<string, string>>): { config: AutoscalerConfig; issues: FieldIssue[] } {
  const config: AutoscalerConfig = { ...DEFAULT_AUTOSCALER_CONFIG };
  const issues: FieldIssue[] = [];
  const target = config as unknown as Record<string, string | number | boolean>;
  for (const key of Object.keys(AUTOSCALER_CONFIG_KEYS) as AutoscalerConfigKey[]) {
    const raw = data[key];
    if (raw === undefined) continue;
    const parsed = parseAs(KINDS[key], raw);
    if (parsed.ok) target[AUTOSCALER_CONFIG_KEYS[key]] = parsed.value;
    else issues.push({ field: `data.${key}`, message: parsed.message });
  }
  // Percentages ⇒ fractions; for legacy reasons values in (0, 1] are already fractions.
  if (config.containerConcurrencyTargetFraction > 1) config.containerConcurrencyTargetFraction /= 100;
  const failed = new Set(issues.map((i) => i.field));
  for (const issue of rules(config, data)) if (!failed.has(issue.field)) issues.push(issue);
  return { config, issues };
}

function parseAs(kind: Kind, raw: string): Parsed<string | number | boolean> {
  switch (kind) {
    case 'string':
      return { ok: true, value: raw };
    case 'bool':
      return parseBool(raw);
    case 'float':
      return parseFloat64(raw);
    case 'int':
      return parseInt32(raw);
    case 'duration':
      return parseDuration(raw);
  }
}

/** Knative's `validate()`, one issue per rule broken (Knative stops at the first; we list them all). */
function rules(c: AutoscalerConfig, data: Readonly<Record<string, string>>): FieldIssue[] {
  const out: FieldIssue[] = [];
  const bad = (key: AutoscalerConfigKey, message: string): void => void out.push({ field: `data.${key}`, message });
  const d = formatGoDuration;

  if (c.podAutoscalerClass !== KPA_CLASS) {
    bad('pod-autoscaler-class', `must be ${KPA_CLASS} (the only autoscaler class Wisp runs), was ${JSON.stringify(c.podAutoscalerClass)}`);
  }
  if (c.scaleToZeroGracePeriodMs <= 0) bad('scale-to-zero-grace-period', `must be positive, was ${d(c.scaleToZeroGracePeriodMs)}`);
  if (c.scaleDownDelayMs < 0) bad('scale-down-delay', `cannot be negative, was ${d(c.scaleDownDelayMs)}`);
  else if (!isWholeSeconds(c.scaleDownDelayMs)) bad('scale-down-delay', `must be specified with at most second precision, was ${d(c.scaleDownDelayMs)}`);
  if (c.scaleToZeroPodRetentionPeriodMs < 0) {
    bad('scale-to-zero-pod-retention-period', `cannot be negative, was ${d(c.scaleToZeroPodRetentionPeriodMs)}`);
  }
  if (c.targetBurstCapacity < 0 && c.targetBurstCapacity !== -1) {
    bad('target-burst-capacity', `must be either non-negative or -1 (for unlimited), was ${c.targetBurstCapacity}`);
  }
  const fraction = c.containerConcurrencyTargetFraction;
  if (fraction <= 0 || fraction > 1) {
    bad('container-concurrency-target-percentage', `must be in (0, 100], was ${data['container-concurrency-target-percentage'] ?? fraction}`);
  } else if (fraction * c.containerConcurrencyTargetDefault < TARGET_MIN) {
    bad(
      'container-concurrency-target-default',
      `with container-concurrency-target-percentage yields a target concurrency of ${Number((fraction * c.containerConcurrencyTargetDefault).toPrecision(6))}, must be at least ${TARGET_MIN}`,
    );
  }
  if (c.requestsPerSecondTargetDefault < TARGET_MIN) {
    bad('requests-per-second-target-default', `must be at least ${TARGET_MIN}, was ${c.requestsPerSecondTargetDefault}`);
  }
  if (c.activatorCapacity < 1) bad('activator-capacity', `must be at least 1, was ${c.activatorCapacity}`);
  if (c.maxScaleUpRate <= 1) bad('max-scale-up-rate', `must be greater than 1, was ${c.maxScaleUpRate}`);
  if (c.maxScaleDownRate <= 1) bad('max-scale-down-rate', `must be greater than 1, was ${c.maxScaleDownRate}`);
  if (c.stableWindowMs < WINDOW_MIN_MS || c.stableWindowMs > WINDOW_MAX_MS) {
    bad('stable-window', `must be in [${d(WINDOW_MIN_MS)}, ${d(WINDOW_MAX_MS)}], was ${d(c.stableWindowMs)}`);
  } else if (!isWholeSeconds(c.stableWindowMs)) {
    bad('stable-window', `must be specified with at most second precision, was ${d(c.stableWindowMs)}`);
  }
  if (c.panicWindowPercentage < PANIC_WINDOW_PERCENTAGE_MIN || c.panicWindowPercentage > PANIC_WINDOW_PERCENTAGE_MAX) {
    bad('panic-window-percentage', `must be in [${PANIC_WINDOW_PERCENTAGE_MIN}, ${PANIC_WINDOW_PERCENTAGE_MAX}], was ${c.panicWindowPercentage}`);
  }
  if (c.panicThresholdPercentage <= 0) bad('panic-threshold-percentage', `must be positive, was ${c.panicThresholdPercentage}`);
  if (c.initialScale < 0 || (c.initialScale === 0 && !c.allowZeroInitialScale)) {
    bad('initial-scale', `must be at least 0 (or at least 1 when allow-zero-initial-scale is false), was ${c.initialScale}`);
  }
  if (c.maxScaleLimit < 0) {
    bad('max-scale-limit', `must be at least 0, was ${c.maxScaleLimit}`);
  } else {
    // A default max-scale must be set (≥ 1) when max-scale-limit is set.
    const minMax = c.maxScaleLimit > 0 ? 1 : 0;
    if (c.maxScale < minMax || (c.maxScaleLimit > 0 && c.maxScale > c.maxScaleLimit)) {
      const upper = c.maxScaleLimit > 0 ? `max-scale-limit(${c.maxScaleLimit})` : 'unlimited';
      bad('max-scale', `must be in [${minMax}, ${upper}], was ${c.maxScale}`);
    }
  }
  if (c.minScale < 0 || (c.maxScale > 0 && c.minScale > c.maxScale)) {
    bad('min-scale', `must be in [0, ${c.maxScale > 0 ? `max-scale(${c.maxScale})` : 'unlimited'}], was ${c.minScale}`);
  }
  return out;
}
