import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUTOSCALER_CONFIG,
  NO_DATA,
  decide,
  initialDeciderState,
  parseAutoscalerConfigMap,
  pokeDecider,
  scalingSpecFor,
  type AutoscalerConfig,
  type DeciderState,
  type Decision,
  type ScalingSpec,
} from '../../../autoscaler/index.js';

const A = (name: string): string => `autoscaling.knative.dev/${name}`;
const T0 = 1_800_000_000_000;
const avg = (value: number) => ({ kind: 'average' as const, value });

function specOf(opts: { annotations?: Record<string, string>; cc?: number; config?: AutoscalerConfig } = {}): ScalingSpec {
  return scalingSpecFor(opts.config ?? DEFAULT_AUTOSCALER_CONFIG, opts.annotations, opts.cc ?? 0);
}

/** A revision that has been up for an hour with its initial replicas ready. */
function settled(spec: ScalingSpec, desired = 1): DeciderState {
  return { ...initialDeciderState(spec, T0 - 3_600_000), desired, initialized: true };
}

function step(spec: ScalingSpec, state: DeciderState, now: number, ready: number, stable: number, panic = stable): Decision {
  return decide({ spec, state, now, readyReplicas: ready, stable: avg(stable), panic: avg(panic) });
}

describe('KPA decider', () => {
  it('scales to ceil(stable average / target): concurrency 10 at target 7 → 2 replicas', () => {
    const spec = specOf({ cc: 10 }); // target = 10 × 0.7 = 7
    const d = step(spec, settled(spec, 2), T0, 2, 10);
    expect(d).toMatchObject({ desiredScale: 2, panicking: false, valid: true, stableConcurrency: 10, panicConcurrency: 10 });
    // Default target 100 × 70 % = 70 per replica: 100 → 2, 140 → 2, 141 → 3.
    const def = specOf();
    expect(step(def, settled(def, 3), T0, 3, 140).desiredScale).toBe(2);
    expect(step(def, settled(def, 3), T0, 3, 141).desiredScale).toBe(3);
  });

  it('enters panic when the panic-window count reaches 200 % of the ready replicas and scales on the panic window', () => {
    const spec = specOf({ cc: 10 });
    const over = step(spec, settled(spec, 2), T0, 2, 14, 27); // ceil(27/7) = 4 pods; 4 / 2 ready = 2.0 ≥ 2.0
    expect(over.panicking).toBe(true);
    expect(over.desiredScale).toBe(4); // max(stable 2, panic 4)
    const calm = step(spec, settled(spec, 2), T0, 2, 14, 21); // ceil(21/7)=3 → 1.5 < 2
    expect(calm).toMatchObject({ panicking: false, desiredScale: 2 });
  });

  it('never scales down while panicking', () => {
    const spec = specOf({ cc: 10 });
    let s = step(spec, settled(spec, 2), T0, 2, 14, 56); // panic: ceil(56/7)=8
    expect(s).toMatchObject({ panicking: true, desiredScale: 8 });
    s = step(spec, s.nextState, T0 + 2000, 8, 7, 7); // would be 4 (rate limit) or 1
    expect(s).toMatchObject({ panicking: true, desiredScale: 8 });
    s = step(spec, s.nextState, T0 + 4000, 8, 7, 140); // ceil(140/7)=20 → 20/8 = 2.5 ≥ 2: increases are applied
    expect(s).toMatchObject({ panicking: true, desiredScale: 20 });
  });

  it('leaves panic one stable window after the last tick over the threshold', () => {
    const spec = specOf({ cc: 10 });
    let d = step(spec, settled(spec, 2), T0, 2, 14, 56);
    expect(d.panicking).toBe(true);
    const lastOver = T0 + 10_000;
    for (let t = T0 + 2000; t <= lastOver; t += 2000) d = step(spec, d.nextState, t, 2, 14, 56);
    for (let t = lastOver + 2000; t <= lastOver + 60_000; t += 2000) {
      d = step(spec, d.nextState, t, 8, 7, 7);
      expect(d.panicking, `still panicking at +${t - lastOver} ms`).toBe(true);
      expect(d.desiredScale).toBe(8);
    }
    d = step(spec, d.nextState, lastOver + 62_000, 8, 7, 7);
    expect(d.panicking).toBe(false);
    expect(d.desiredScale).toBe(4); // stable wants 1, at most halving from 8 ready
  });

  it('limits scale-up to max-scale-up-rate × ready', () => {
    const config = parseAutoscalerConfigMap({ 'max-scale-up-rate': '2' });
    const spec = specOf({ cc: 10, config });
    expect(step(spec, settled(spec, 3), T0, 3, 1000).desiredScale).toBe(6);
    // At least one more replica, even when rate × ready rounds to the same count.
    const slow = specOf({ cc: 10, config: parseAutoscalerConfigMap({ 'max-scale-up-rate': '1.1' }) });
    expect(step(slow, settled(slow, 2), T0, 2, 21, 21).desiredScale).toBe(3);
  });

  it('at most halves per tick with max-scale-down-rate 2', () => {
    const spec = specOf({ cc: 10 });
    let ready = 10;
    let state = settled(spec, 10);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = step(spec, state, T0 + i * 2000, ready, 0.5);
      seen.push(d.desiredScale);
      state = d.nextState;
      ready = d.desiredScale;
    }
    expect(seen).toEqual([5, 2, 1, 1]);
    const three = specOf({ cc: 10, config: parseAutoscalerConfigMap({ 'max-scale-down-rate': '3' }) });
    expect(step(three, settled(three, 9), T0, 9, 0.5).desiredScale).toBe(3);
  });

  it('keeps min-scale and max-scale', () => {
    const spec = specOf({ cc: 10, annotations: { [A('min-scale')]: '2', [A('max-scale')]: '5' } });
    expect(step(spec, settled(spec, 2), T0, 2, 0)).toMatchObject({ desiredScale: 2, reason: 'min-scale' });
    expect(step(spec, settled(spec, 2), T0, 2, 700)).toMatchObject({ desiredScale: 5, reason: 'max-scale' });
  });

  it('holds the initial scale until the replicas came up', () => {
    const spec = specOf({ cc: 10, annotations: { [A('initial-scale')]: '3' } });
    const start = initialDeciderState(spec, T0);
    expect(start.desired).toBe(3);
    let d = step(spec, start, T0 + 2000, 1, 0);
    expect(d).toMatchObject({ desiredScale: 3, reason: 'initial-scale' });
    d = step(spec, d.nextState, T0 + 4000, 3, 0);
    expect(d.desiredScale).toBe(1); // came up: now the decider rules (3 → floor(3/2) = 1)
    const withMin = specOf({ annotations: { [A('initial-scale')]: '1', [A('min-scale')]: '4' } });
    expect(initialDeciderState(withMin, T0).desired).toBe(4);
  });

  it('delays scale-down by the maximum over the trailing scale-down-delay', () => {
    const spec = specOf({ cc: 10, annotations: { [A('scale-down-delay')]: '10s' } });
    let d = step(spec, settled(spec, 5), T0, 5, 35);
    expect(d.desiredScale).toBe(5);
    for (let t = T0 + 2000; t <= T0 + 8000; t += 2000) {
      d = step(spec, d.nextState, t, 5, 7);
      expect(d.desiredScale, `at +${t - T0}`).toBe(5);
    }
    d = step(spec, d.nextState, T0 + 10_000, 5, 7);
    expect(d.desiredScale).toBe(2); // the 5 left the window; the last 10 s wanted max(2, floor(5/2)) = 2
  });

  it('scales to zero only after the grace period, once the stable average is exactly 0', () => {
    const spec = specOf();
    let d = step(spec, settled(spec, 1), T0, 1, 0);
    expect(d).toMatchObject({ desiredScale: 1, reason: 'awaiting-grace-period', phase: 'idle' });
    for (let t = T0 + 2000; t < T0 + 30_000; t += 2000) {
      d = step(spec, d.nextState, t, 1, 0);
      expect(d.desiredScale).toBe(1);
    }
    d = step(spec, d.nextState, T0 + 30_000, 1, 0);
    expect(d).toMatchObject({ desiredScale: 0, phase: 'zero' });
    d = step(spec, d.nextState, T0 + 32_000, 0, 0);
    expect(d).toMatchObject({ desiredScale: 0, reason: 'at-zero' });
  });

  it('does not scale to zero while the stable average is above 0', () => {
    const spec = specOf();
    let d = step(spec, settled(spec, 1), T0, 1, 0.001);
    for (let t = T0; t < T0 + 120_000; t += 2000) {
      d = step(spec, d.nextState, t, 1, 0.001);
      expect(d.desiredScale).toBe(1);
    }
  });

  it('load during the grace period cancels the scale to zero', () => {
    const spec = specOf();
    let d = step(spec, settled(spec, 1), T0, 1, 0);
    d = step(spec, d.nextState, T0 + 20_000, 1, 0.2);
    expect(d).toMatchObject({ desiredScale: 1, phase: 'active' });
    d = step(spec, d.nextState, T0 + 40_000, 1, 0);
    expect(d).toMatchObject({ desiredScale: 1, phase: 'active', reason: 'awaiting-stable-window' });
  });

  it('waits a stable window after activation, and for the pod retention period, before zero', () => {
    const spec = specOf({ annotations: { [A('scale-to-zero-pod-retention-period')]: '1m' } });
    const fresh = initialDeciderState(spec, T0);
    let d = step(spec, fresh, T0 + 58_000, 1, 0);
    expect(d).toMatchObject({ desiredScale: 1, reason: 'awaiting-stable-window' });
    d = step(spec, d.nextState, T0 + 60_000, 1, 0); // idle from here
    d = step(spec, d.nextState, T0 + 90_000, 1, 0);
    expect(d.desiredScale).toBe(1); // grace is over, retention (60 s) is not
    d = step(spec, d.nextState, T0 + 120_000, 1, 0);
    expect(d.desiredScale).toBe(0);
  });

  it('keeps one replica when scale to zero is disabled', () => {
    const spec = specOf({ config: parseAutoscalerConfigMap({ 'enable-scale-to-zero': 'false' }) });
    let d = step(spec, settled(spec, 1), T0, 1, 0);
    d = step(spec, d.nextState, T0 + 600_000, 1, 0);
    expect(d).toMatchObject({ desiredScale: 1, reason: 'scale-to-zero-disabled' });
  });

  it('keeps the current scale without data', () => {
    const spec = specOf();
    const d = decide({ spec, state: settled(spec, 3), now: T0, readyReplicas: 3, stable: NO_DATA, panic: NO_DATA });
    expect(d).toMatchObject({ desiredScale: 3, valid: false, reason: 'no-data' });
  });

  it('scales up from zero to activation-scale on a poke and on the first data', () => {
    const spec = specOf({ annotations: { [A('activation-scale')]: '3' } });
    let d = step(spec, settled(spec, 1), T0, 1, 0);
    d = step(spec, d.nextState, T0 + 30_000, 1, 0);
    expect(d.desiredScale).toBe(0);
    expect(pokeDecider(spec, d.nextState, T0 + 31_000)).toMatchObject({ desired: 3, phase: 'active', activeSince: T0 + 31_000 });
    const up = step(spec, d.nextState, T0 + 32_000, 0, 0.5, 0.5);
    expect(up).toMatchObject({ desiredScale: 3, phase: 'active' });
  });

  it('reports excess burst capacity like Knative', () => {
    const spec = specOf({ cc: 10 }); // total 10, tbc 211
    expect(step(spec, settled(spec, 5), T0, 5, 10, 10).excessBurstCapacity).toBe(Math.floor(50 - 211 - 10));
    const unlimited = specOf({ cc: 10, annotations: { [A('target-burst-capacity')]: '-1' } });
    expect(step(unlimited, settled(unlimited, 5), T0, 5, 10).excessBurstCapacity).toBe(-1);
  });
});
