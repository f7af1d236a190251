import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  AUTOSCALER_CONFIG_KEYS,
  AutoscalerConfigError,
  DEFAULT_AUTOSCALER_CONFIG,
  ERROR_CODES,
  ScalingAnnotationsError,
  formatGoDuration,
  parseAutoscalerConfigMap,
  parseGoDuration,
  unknownAutoscalerConfigKeys,
  validateAutoscalerConfigMap,
} from '../../../autoscaler/index.js';

function errorOf(data: Record<string, string>): AutoscalerConfigError {
  try {
    parseAutoscalerConfigMap(data);
  } catch (err) {
    if (err instanceof AutoscalerConfigError) return err;
    throw err;
  }
  throw new Error('expected AutoscalerConfigError');
}

describe('config-autoscaler', () => {
  it('has Knative defaults and is frozen', () => {
    expect(DEFAULT_AUTOSCALER_CONFIG).toMatchObject({
      containerConcurrencyTargetDefault: 100,
      containerConcurrencyTargetFraction: 0.7,
      targetBurstCapacity: 211,
      stableWindowMs: 60_000,
      panicWindowPercentage: 10,
      panicThresholdPercentage: 200,
      maxScaleUpRate: 1000,
      maxScaleDownRate: 2,
      scaleToZeroGracePeriodMs: 30_000,
      initialScale: 1,
      enableScaleToZero: true,
    });
    expect(Object.isFrozen(DEFAULT_AUTOSCALER_CONFIG)).toBe(true);
    expect(parseAutoscalerConfigMap({})).toEqual(DEFAULT_AUTOSCALER_CONFIG);
  });

  it('manifests/config-autoscaler.yaml has every key and parses to exactly the code defaults', () => {
    const text = readFileSync(new URL('../../../manifests/config-autoscaler.yaml', import.meta.url), 'utf8');
    const cm = parse(text) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; data: Record<string, string> };
    expect(cm.apiVersion).toBe('v1');
    expect(cm.kind).toBe('ConfigMap');
    expect(cm.metadata).toMatchObject({ name: 'config-autoscaler', namespace: 'knative-serving' });
    expect(Object.keys(cm.data).sort()).toEqual(Object.keys(AUTOSCALER_CONFIG_KEYS).sort());
    for (const v of Object.values(cm.data)) expect(typeof v).toBe('string');
    expect(parseAutoscalerConfigMap(cm.data)).toEqual(DEFAULT_AUTOSCALER_CONFIG);
  });

  it('parses every kind of value', () => {
    const c = parseAutoscalerConfigMap({
      'container-concurrency-target-percentage': '80',
      'container-concurrency-target-default': '50',
      'stable-window': '2m',
      'scale-to-zero-grace-period': '45s',
      'scale-down-delay': '15s',
      'enable-scale-to-zero': 'False',
      'max-scale': '10',
      'max-scale-limit': '20',
      'min-scale': '2',
      'initial-scale': '0',
      'allow-zero-initial-scale': 'true',
      'target-burst-capacity': '-1',
      _example: 'documentation only',
    });
    expect(c).toMatchObject({
      containerConcurrencyTargetFraction: 0.8,
      containerConcurrencyTargetDefault: 50,
      stableWindowMs: 120_000,
      scaleToZeroGracePeriodMs: 45_000,
      scaleDownDelayMs: 15_000,
      enableScaleToZero: false,
      maxScale: 10,
      maxScaleLimit: 20,
      minScale: 2,
      initialScale: 0,
      allowZeroInitialScale: true,
      targetBurstCapacity: -1,
    });
    // Legacy fraction.
    expect(parseAutoscalerConfigMap({ 'container-concurrency-target-percentage': '0.5' }).containerConcurrencyTargetFraction).toBe(0.5);
  });

  it('names the key and the reason', () => {
    const err = errorOf({ 'max-scale-down-rate': '0.5' });
    expect(err.code).toBe('WISP_ERR_AUTOSCALER_CONFIG');
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('config-autoscaler: data.max-scale-down-rate: must be greater than 1, was 0.5');
    expect(errorOf({ 'stable-window': '6x' }).message).toBe('config-autoscaler: data.stable-window: invalid duration "6x"');
    expect(errorOf({ 'enable-scale-to-zero': 'yes' }).message).toBe('config-autoscaler: data.enable-scale-to-zero: invalid boolean "yes"');
    expect(errorOf({ 'max-scale': '1.5' }).message).toBe('config-autoscaler: data.max-scale: invalid integer "1.5"');
  });

  it.each([
    ['stable-window', '5s', 'must be in [6s, 1h0m0s], was 5s'],
    ['stable-window', '2h', 'must be in [6s, 1h0m0s], was 2h0m0s'],
    ['stable-window', '6500ms', 'must be specified with at most second precision, was 6.5s'],
    ['scale-to-zero-grace-period', '0s', 'must be positive, was 0s'],
    ['scale-down-delay', '-1s', 'cannot be negative, was -1s'],
    ['scale-to-zero-pod-retention-period', '-5s', 'cannot be negative, was -5s'],
    ['target-burst-capacity', '-2', 'must be either non-negative or -1 (for unlimited), was -2'],
    ['container-concurrency-target-percentage', '0', 'must be in (0, 100], was 0'],
    ['container-concurrency-target-percentage', '101', 'must be in (0, 100], was 101'],
    ['max-scale-up-rate', '1', 'must be greater than 1, was 1'],
    ['panic-window-percentage', '0.5', 'must be in [1, 100], was 0.5'],
    ['activator-capacity', '0.5', 'must be at least 1, was 0.5'],
    ['requests-per-second-target-default', '0', 'must be at least 0.01, was 0'],
    ['initial-scale', '0', 'must be at least 0 (or at least 1 when allow-zero-initial-scale is false), was 0'],
    ['max-scale-limit', '-1', 'must be at least 0, was -1'],
    ['pod-autoscaler-class', 'hpa.autoscaling.knative.dev', 'must be kpa.autoscaling.knative.dev (the only autoscaler class Wisp runs), was "hpa.autoscaling.knative.dev"'],
  ])('rejects %s=%s', (key, value, message) => {
    expect(validateAutoscalerConfigMap({ [key]: value })).toEqual([{ field: `data.${key}`, message }]);
  });

  it('checks rules across keys', () => {
    expect(validateAutoscalerConfigMap({ 'max-scale-limit': '10' })).toEqual([{ field: 'data.max-scale', message: 'must be in [1, max-scale-limit(10)], was 0' }]);
    expect(validateAutoscalerConfigMap({ 'max-scale-limit': '10', 'max-scale': '11' })).toEqual([
      { field: 'data.max-scale', message: 'must be in [1, max-scale-limit(10)], was 11' },
    ]);
    expect(validateAutoscalerConfigMap({ 'max-scale': '3', 'min-scale': '4' })).toEqual([{ field: 'data.min-scale', message: 'must be in [0, max-scale(3)], was 4' }]);
    expect(validateAutoscalerConfigMap({ 'initial-scale': '0', 'allow-zero-initial-scale': 'true' })).toEqual([]);
    expect(validateAutoscalerConfigMap({ 'container-concurrency-target-default': '0.01' })).toEqual([
      {
        field: 'data.container-concurrency-target-default',
        message: 'with container-concurrency-target-percentage yields a target concurrency of 0.007, must be at least 0.01',
      },
    ]);
  });

  it('lists every problem and throws with all of them', () => {
    const data = { 'max-scale-down-rate': '1', 'stable-window': 'soon' };
    expect(validateAutoscalerConfigMap(data).map((i) => i.field)).toEqual(['data.stable-window', 'data.max-scale-down-rate']);
    expect(errorOf(data).issues).toHaveLength(2);
  });

  it('reports keys it does not know', () => {
    expect(unknownAutoscalerConfigKeys({ 'stable-window': '60s', 'tick-interval': '2s', _example: 'x' })).toEqual(['tick-interval']);
  });

  it('reads and writes Go durations', () => {
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('300ms')).toBe(300);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('60')).toBeUndefined();
    expect(parseGoDuration('')).toBeUndefined();
    expect(formatGoDuration(3_600_000)).toBe('1h0m0s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
    expect(formatGoDuration(500)).toBe('500ms');
  });

  it('documents every error code', () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(['WISP_ERR_AUTOSCALER_CONFIG', 'WISP_ERR_SCALING_ANNOTATIONS']);
    expect(new ScalingAnnotationsError([{ field: 'f', message: 'm' }]).code in ERROR_CODES).toBe(true);
  });
});
