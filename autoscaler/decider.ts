/**
 * The KPA decider, pure: (spec, window averages, ready replicas, now, previous state) → Decision with the next state.
 *
 * Two stages, as in Knative:
 * 1. `kpaScale` — knative/serving `pkg/autoscaler/scaling/autoscaler.go` `Scale()`: stable/panic pod counts, rate
 *    limits, panic mode, activation-scale, scale-down-delay.
 * 2. `decide` — what `pkg/reconciler/autoscaling/kpa/scaler.go` does with that count: initial scale until the revision
 *    first came up, min/max bounds, and scale to zero only through the lifecycle active → idle → zero (a revision must
 *    have been active a stable window, then idle for max(grace period, pod retention period), before it goes to 0).
 */
import type { ScalingSpec } from './annotations.js';
import type { WindowAverage } from './bucketing.js';

/** Scale lifecycle of a revision: serving (active), wanted at zero but held at 1 (idle), scaled to zero (zero). */
export type ScalePhase = 'active' | 'idle' | 'zero';

export interface DelayEntry {
  readonly at: number;
  readonly value: number;
}

export interface DeciderState {
  /** Time of the last tick over the panic threshold while panicking; undefined when not panicking. */
  readonly panicTime: number | undefined;
  /** Highest count asked for during this panic. */
  readonly maxPanicPods: number;
  /** Desired counts of the trailing scale-down-delay window. */
  readonly delayWindow: readonly DelayEntry[];
  readonly phase: ScalePhase;
  /** When the revision last became active (upsert, poke, or scale-up from idle/zero). */
  readonly activeSince: number;
  /** When the revision went idle (decided 0, held at 1 until the grace period is over). */
  readonly idleSince: number | undefined;
  /** The count last asked of the runtime. */
  readonly desired: number;
  /** True once ready replicas reached the initial scale (until then the count stays at least the initial scale). */
  readonly initialized: boolean;
}

export type DecisionReason =
  | 'no-data'
  | 'scale'
  | 'initial-scale'
  | 'min-scale'
  | 'max-scale'
  | 'scale-to-zero-disabled'
  | 'awaiting-stable-window'
  | 'awaiting-grace-period'
  | 'at-zero';

export interface Decision {
  /** The replica count to run. */
  desiredScale: number;
  /** False when there was no data yet: the count was kept (within bounds). */
  valid: boolean;
  reason: DecisionReason;
  panicking: boolean;
  /** Observed average concurrency over the stable and panic windows (0 without data). */
  stableConcurrency: number;
  panicConcurrency: number;
  /** Counts wanted by each window after rate limits (before panic, delay and bounds). */
  stablePodCount: number;
  panicPodCount: number;
  /** Knative's excess burst capacity: ready × total − target-burst-capacity − panic concurrency (−1 unlimited tbc). */
  excessBurstCapacity: number;
  phase: ScalePhase;
  nextState: DeciderState;
}

export interface DeciderInput {
  spec: ScalingSpec;
  stable: WindowAverage;
  panic: WindowAverage;
  readyReplicas: number;
  now: number;
  state: DeciderState;
  /** Stop holding the initial scale when replicas have not come up this long after activation (Knative: progress deadline 600 s + 10 s). */
  activationTimeoutMs?: number;
}

export const DEFAULT_ACTIVATION_TIMEOUT_MS = 610_000;

/** Knative `applyBounds`: below min → min; above a non-zero max → max. */
export function applyBounds(min: number, max: number, x: number): number {
  if (x < min) return min;
  if (max !== 0 && x > max) return max;
  return x;
}

/** The count a revision starts at: max(initial-scale, min-scale), within max-scale. */
export function initialScaleOf(spec: ScalingSpec): number {
  return applyBounds(spec.minScale, spec.maxScale, spec.initialScale);
}

/** The count the first request to a revision at zero scales it to: max(1, min-scale, activation-scale), within max-scale. */
export function activationScaleOf(spec: ScalingSpec): number {
  return applyBounds(spec.minScale, spec.maxScale, Math.max(1, spec.activationScale));
}

export function initialDeciderState(spec: ScalingSpec, now: number): DeciderState {
  const desired = initialScaleOf(spec);
  return {
    panicTime: undefined,
    maxPanicPods: 0,
    delayWindow: [],
    phase: desired > 0 ? 'active' : 'zero',
    activeSince: now,
    idleSince: undefined,
    desired,
    initialized: desired <= 1,
  };
}

/** The first request at zero (or while idle): become active at once with at least the activation count. */
export function pokeDecider(spec: ScalingSpec, state: DeciderState, now: number): DeciderState {
  const desired = Math.max(state.desired, activationScaleOf(spec));
  return { ...state, phase: 'active', activeSince: state.phase === 'active' ? state.activeSince : now, idleSince: undefined, desired };
}

interface KpaResult {
  desired: number;
  panicking: boolean;
  stablePodCount: number;
  panicPodCount: number;
  state: Pick<DeciderState, 'panicTime' | 'maxPanicPods' | 'delayWindow'>;
}

/** Knative's `autoscaler.Scale()` given both window averages. */
export function kpaScale(spec: ScalingSpec, stable: number, panic: number, readyReplicas: number, now: number, state: DeciderState): KpaResult {
  const ready = Math.max(1, readyReplicas);
  const maxScaleUp = Math.ceil(spec.maxScaleUpRate * ready);
  const maxScaleDown = Math.floor(ready / spec.maxScaleDownRate);
  const dspc = Math.ceil(stable / spec.target);
  const dppc = Math.ceil(panic / spec.target);
  let stablePods = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
  let panicPods = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);
  if (spec.activationScale > 1) {
    if (dspc > 0 && spec.activationScale > stablePods) stablePods = spec.activationScale;
    if (dppc > 0 && spec.activationScale > panicPods) panicPods = spec.activationScale;
  }

  // Knative compares the panic-window pod count with the ready pods: ceil(panic/target)/ready ≥ threshold.
  const over = dppc / ready >= spec.panicThreshold;
  let panicTime = state.panicTime;
  let maxPanicPods = state.maxPanicPods;
  if (over) {
    panicTime = now; // start, or extend, the panic
  } else if (panicTime !== undefined && panicTime + spec.stableWindowMs < now) {
    panicTime = undefined; // the surge has made it into the stable window
    maxPanicPods = 0;
  }

  let desired = stablePods;
  if (panicTime !== undefined) {
    desired = Math.max(desired, panicPods);
    if (desired > maxPanicPods) maxPanicPods = desired;
    desired = maxPanicPods; // never scale down while panicking
  }

  let delayWindow = state.delayWindow;
  if (spec.scaleDownDelayMs > 0) {
    delayWindow = [...state.delayWindow.filter((e) => e.at > now - spec.scaleDownDelayMs), { at: now, value: desired }];
    desired = Math.max(...delayWindow.map((e) => e.value));
  } else if (delayWindow.length > 0) {
    delayWindow = [];
  }
  return { desired, panicking: panicTime !== undefined, stablePodCount: stablePods, panicPodCount: panicPods, state: { panicTime, maxPanicPods, delayWindow } };
}

export function decide(input: DeciderInput): Decision {
  const { spec, now, state } = input;
  const stable = input.stable.kind === 'average' ? input.stable.value : 0;
  const panic = input.panic.kind === 'average' ? input.panic.value : 0;
  const ebc = excessBurstCapacity(spec, input.readyReplicas, panic);
  const initialTarget = initialScaleOf(spec);
  const initialized =
    state.initialized || input.readyReplicas >= initialTarget || now - state.activeSince >= (input.activationTimeoutMs ?? DEFAULT_ACTIVATION_TIMEOUT_MS);

  if (input.stable.kind === 'no-data' || input.panic.kind === 'no-data') {
    // Not enough data: keep the current count, within the (possibly changed) bounds.
    const kept = state.phase === 'zero' && spec.minScale === 0 ? 0 : applyBounds(spec.minScale, spec.maxScale, state.desired);
    const nextState: DeciderState = { ...state, desired: kept, initialized, phase: kept > 0 && state.phase === 'zero' ? 'active' : state.phase };
    return {
      desiredScale: kept,
      valid: false,
      reason: 'no-data',
      panicking: state.panicTime !== undefined,
      stableConcurrency: 0,
      panicConcurrency: 0,
      stablePodCount: 0,
      panicPodCount: 0,
      excessBurstCapacity: ebc,
      phase: nextState.phase,
      nextState,
    };
  }

  const kpa = kpaScale(spec, stable, panic, input.readyReplicas, now, state);
  let desired = kpa.desired;
  let reason: DecisionReason = 'scale';
  if (!initialized && desired < initialTarget) {
    desired = initialTarget;
    reason = 'initial-scale';
  }
  const bounded = applyBounds(spec.minScale, spec.maxScale, desired);
  if (bounded !== desired) reason = bounded > desired ? 'min-scale' : 'max-scale';
  desired = bounded;

  let phase = state.phase;
  let activeSince = state.activeSince;
  let idleSince = state.idleSince;
  if (desired > 0) {
    if (phase !== 'active') activeSince = now;
    phase = 'active';
    idleSince = undefined;
  } else if (!spec.enableScaleToZero) {
    desired = 1;
    reason = 'scale-to-zero-disabled';
    phase = 'active';
  } else {
    if (phase === 'active') {
      if (now - activeSince >= spec.stableWindowMs) {
        phase = 'idle';
        idleSince = now;
      } else {
        desired = 1;
        reason = 'awaiting-stable-window';
      }
    }
    if (phase === 'idle') {
      if (now - (idleSince ?? now) >= Math.max(spec.scaleToZeroGracePeriodMs, spec.scaleToZeroPodRetentionPeriodMs)) {
        phase = 'zero';
        idleSince = undefined;
        reason = 'scale';
      } else {
        desired = 1;
        reason = 'awaiting-grace-period';
      }
    }
    if (phase === 'zero' && state.phase === 'zero') reason = 'at-zero';
  }

  const nextState: DeciderState = { ...kpa.state, phase, activeSince, idleSince, desired, initialized };
  return {
    desiredScale: desired,
    valid: true,
    reason,
    panicking: kpa.panicking,
    stableConcurrency: stable,
    panicConcurrency: panic,
    stablePodCount: kpa.stablePodCount,
    panicPodCount: kpa.panicPodCount,
    excessBurstCapacity: ebc,
    phase,
    nextState,
  };
}

function excessBurstCapacity(spec: ScalingSpec, readyReplicas: number, panic: number): number {
  if (spec.targetBurstCapacity === 0) return 0;
  if (spec.targetBurstCapacity < 0) return -1;
  return Math.floor(readyReplicas * spec.totalValue - spec.targetBurstCapacity - panic);
}
