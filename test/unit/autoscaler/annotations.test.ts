import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG, ScalingAnnotationsError, parseAutoscalerConfigMap, scalingSpecFor, validateScalingAnnotations } from '../../../autoscaler/index.js';

const A = (name: string): string => `autoscaling.knative.dev/${name}`;
const F = (name: string): string => `metadata.annotations[autoscaling.knative.dev/${name}]`;

describe('scaling annotations: validation', () => {
  it('accepts no annotations and valid ones', () => {
    expect(validateScalingAnnotations(undefined)).toEqual([]);
    expect(
      validateScalingAnnotations({
        [A('min-scale')]: '1',
        [A('max-scale')]: '5',
        [A('initial-scale')]: '2',
        [A('activation-scale')]: '3',
        [A('target')]: '10',
        [A('target-utilization-percentage')]: '80',
        [A('metric')]: 'concurrency',
        [A('window')]: '2m',
        [A('panic-window-percentage')]: '20',
        [A('panic-threshold-percentage')]: '150',
        [A('scale-down-delay')]: '30s',
        [A('scale-to-zero-pod-retention-period')]: '1m',
        [A('target-burst-capacity')]: '-1',
        [A('class')]: 'kpa.autoscaling.knative.dev',
        'example.com/other': 'anything',
      }),
    ).toEqual([]);
  });

  it.each([
    ['min-scale', '-1', 'expected 0 <= -1 <= 2147483647'],
    ['min-scale', 'abc', 'invalid integer "abc"'],
    ['max-scale', '3000000000', 'expected 0 <= 3000000000 <= 2147483647'],
    ['activation-scale', '0', 'expected 1 <= 0 <= 2147483647'],
    ['window', '6x', 'invalid duration "6x"'],
    ['window', '5s', 'expected 6s <= 5s <= 1h0m0s'],
    ['window', '61m', 'expected 6s <= 61m <= 1h0m0s'],
    ['window', '6500ms', 'must be specified with at most second precision'],
    ['scale-down-delay', '2h', 'expected 0s <= 2h <= 1h0m0s'],
    ['scale-down-delay', '1.5s', 'must be specified with at most second precision'],
    ['scale-to-zero-pod-retention-period', '-1s', 'expected 0s <= -1s <= 1h0m0s'],
    ['panic-window-percentage', '0.5', 'expected 1 <= 0.5 <= 100'],
    ['panic-threshold-percentage', '100', 'expected 110 <= 100 <= 1000'],
    ['panic-threshold-percentage', '1001', 'expected 110 <= 1001 <= 1000'],
    ['target', '0.001', 'target 0.001 should be at least 0.01'],
    ['target', 'ten', 'invalid number "ten"'],
    ['target-utilization-percentage', '0', 'expected 1 <= 0 <= 100'],
    ['target-burst-capacity', '-2', 'invalid value: -2 (must be non-negative, or -1 for unlimited)'],
    ['initial-scale', '0', 'initial-scale=0 not allowed by cluster (allow-zero-initial-scale is false)'],
    ['metric', 'cpu', 'invalid value: cpu (the KPA scales on "concurrency" or "rps")'],
    ['class', 'foo.knative.dev', 'invalid value: foo.knative.dev'],
  ])('rejects %s=%s', (name, value, message) => {
    expect(validateScalingAnnotations({ [A(name)]: value })).toEqual([{ field: F(name), message }]);
  });

  it('rejects metric rps with a clear message', () => {
    const [issue] = validateScalingAnnotations({ [A('metric')]: 'rps' });
    expect(issue?.field).toBe(F('metric'));
    expect(issue?.message).toMatch(/"rps" is not supported by Wisp's KPA/);
  });

  it('rejects min-scale > max-scale and activation-scale > max-scale', () => {
    expect(validateScalingAnnotations({ [A('min-scale')]: '3', [A('max-scale')]: '2' })).toEqual([{ field: F('max-scale'), message: 'max-scale=2 is less than min-scale=3' }]);
    expect(validateScalingAnnotations({ [A('min-scale')]: '3', [A('max-scale')]: '0' })).toEqual([]);
    expect(validateScalingAnnotations({ [A('activation-scale')]: '4', [A('max-scale')]: '2' })).toEqual([
      { field: F('activation-scale'), message: 'activation-scale=4 is greater than max-scale=2' },
    ]);
  });

  it('applies the cluster rules of the config', () => {
    const limited = parseAutoscalerConfigMap({ 'max-scale-limit': '10', 'max-scale': '5', 'allow-zero-initial-scale': 'true' });
    expect(validateScalingAnnotations({ [A('max-scale')]: '11' }, limited)).toEqual([{ field: F('max-scale'), message: 'expected 1 <= 11 <= 10' }]);
    expect(validateScalingAnnotations({ [A('max-scale')]: '0' }, limited)).toEqual([
      { field: F('max-scale'), message: 'max-scale=0 (unlimited), must be less than 10 (max-scale-limit)' },
    ]);
    expect(validateScalingAnnotations({ [A('initial-scale')]: '0' }, limited)).toEqual([]);
  });

  it('accepts the legacy camelCase keys, but not both spellings at once', () => {
    expect(validateScalingAnnotations({ [A('minScale')]: '-1' })).toEqual([{ field: F('minScale'), message: 'expected 0 <= -1 <= 2147483647' }]);
    expect(validateScalingAnnotations({ [A('min-scale')]: '1', [A('minScale')]: '2' })).toEqual([
      { field: F('minScale'), message: 'only one of autoscaling.knative.dev/min-scale, autoscaling.knative.dev/minScale may be set (minScale)' },
    ]);
  });
});

describe('scaling annotations: merged spec', () => {
  it('uses the ConfigMap defaults without annotations', () => {
    const s = scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, undefined, 0);
    expect(s).toMatchObject({
      metric: 'concurrency',
      target: 70,
      totalValue: 100,
      stableWindowMs: 60_000,
      panicWindowMs: 6_000,
      panicThreshold: 2,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      minScale: 0,
      maxScale: 0,
      initialScale: 1,
      activationScale: 1,
      scaleDownDelayMs: 0,
      scaleToZeroGracePeriodMs: 30_000,
      scaleToZeroPodRetentionPeriodMs: 0,
      targetBurstCapacity: 211,
      enableScaleToZero: true,
    });
  });

  it('targets containerConcurrency × utilization, and trims the target annotation to containerConcurrency', () => {
    expect(scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, undefined, 10).target).toBeCloseTo(7, 10);
    expect(scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, undefined, 1).target).toBeCloseTo(0.7, 10);
    expect(scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, { [A('target')]: '50' }, 10).target).toBeCloseTo(7, 10);
    expect(scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, { [A('target')]: '5' }, 10).target).toBeCloseTo(3.5, 10);
    expect(scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, { [A('target')]: '5', [A('target-utilization-percentage')]: '100' }, 0).target).toBe(5);
    expect(scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, { [A('target')]: '0.01' }, 0).target).toBe(0.01);
  });

  it('lets per-revision annotations override the ConfigMap', () => {
    const config = parseAutoscalerConfigMap({ 'min-scale': '3', 'stable-window': '120s', 'scale-down-delay': '10s', 'container-concurrency-target-default': '10' });
    const s = scalingSpecFor(
      config,
      {
        [A('min-scale')]: '1',
        [A('window')]: '20s',
        [A('panic-window-percentage')]: '12',
        [A('scale-down-delay')]: '0s',
        [A('target')]: '20',
        [A('scale-to-zero-pod-retention-period')]: '45s',
        [A('activation-scale')]: '2',
      },
      0,
    );
    expect(s).toMatchObject({
      minScale: 1,
      stableWindowMs: 20_000,
      panicWindowMs: 2_000, // 20 s × 12 % = 2.4 s, rounded to whole seconds
      scaleDownDelayMs: 0,
      target: 14,
      scaleToZeroPodRetentionPeriodMs: 45_000,
      activationScale: 2,
    });
    expect(scalingSpecFor(config, undefined, 0)).toMatchObject({ minScale: 3, stableWindowMs: 120_000, panicWindowMs: 12_000, scaleDownDelayMs: 10_000, target: 7 });
  });

  it('throws a typed error for invalid annotations', () => {
    expect(() => scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, { [A('window')]: '6x' }, 0)).toThrow(ScalingAnnotationsError);
    expect(() => scalingSpecFor(DEFAULT_AUTOSCALER_CONFIG, { [A('window')]: '6x' }, 0)).toThrow(
      'metadata.annotations[autoscaling.knative.dev/window]: invalid duration "6x"',
    );
  });
});
