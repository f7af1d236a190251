/**
 * The scaling loop: holds per-revision metric windows and decider state, ticks on the injected clock, runs the pure
 * decider and asks the runtime for the count it decides. The activator feeds it (`report`, `poke`); the runtime feeds
 * ready replica counts (`setReadyReplicas`).
 */
import type { ConcurrencyReporter } from '../activator/types.js';
import type { Clock, Timer } from '../src/clock.js';
import type { WorkloadScaler } from '../src/runtime/types.js';
import { scalingSpecFor, type ScalingSpec } from './annotations.js';
import { TimedBuckets, type WindowAverage } from './bucketing.js';
import { applyBounds, decide, initialDeciderState, initialScaleOf, pokeDecider, type DeciderState, type Decision } from './decider.js';
import { DEFAULT_AUTOSCALER_CONFIG, DEFAULT_TICK_MS, type AutoscalerConfig } from './defaults.js';
import { ScalingAnnotationsError } from './errors.js';

export interface AutoscalerOptions {
  clock: Clock;
  scaler: WorkloadScaler;
  config?: AutoscalerConfig;
  /** Default 2000 (Knative's tick interval). */
  tickMs?: number;
  /** Every decision of every tick, for metrics and logs. */
  onDecision?: (key: string, d: Decision) => void;
  /** A revision whose annotations became invalid under a new config keeps its previous settings; this is told why. */
  onError?: (key: string, err: Error) => void;
}

export interface RevisionScalingOptions {
  annotations?: Record<string, string>;
  containerConcurrency: number;
  /**
   * The revision's progress deadline: the initial scale is held at most this long plus 10 s after activation, as
   * Knative's KPA (activation timeout = progress deadline + 10 s). Default: Knative's 600 s.
   */
  progressDeadlineSeconds?: number;
  /**
   * The replica count the workload already runs at when this autoscaler first sees it (a restart of Wisp against
   * Deployments that kept running): the decider resumes from it, within min/max-scale, instead of applying the
   * initial scale again, as Knative's KPA keeps the last decision across an autoscaler restart.
   */
  resumeAt?: number;
}

/** Knative's activationTimeoutBuffer. */
const ACTIVATION_TIMEOUT_BUFFER_MS = 10_000;

export interface RevisionScaleState {
  desired: number;
  panicking: boolean;
  stableConcurrency: number;
  panicConcurrency: number;
}

interface Entry {
  opts: RevisionScalingOptions;
  spec: ScalingSpec;
  buckets: TimedBuckets;
  state: DeciderState;
  ready: number;
  /** When the autoscaler started watching the revision: with the activator in the path, no report for a whole window means no load. */
  since: number;
  last: RevisionScaleState;
}

export class Autoscaler implements ConcurrencyReporter {
  readonly #clock: Clock;
  readonly #scaler: WorkloadScaler;
  readonly #onDecision: ((key: string, d: Decision) => void) | undefined;
  readonly #onError: ((key: string, err: Error) => void) | undefined;
  readonly #revisions = new Map<string, Entry>();
  #config: AutoscalerConfig;
  #timer: Timer | undefined;

  constructor(opts: AutoscalerOptions) {
    this.#clock = opts.clock;
    this.#scaler = opts.scaler;
    this.#config = opts.config ?? DEFAULT_AUTOSCALER_CONFIG;
    this.#onDecision = opts.onDecision;
    this.#onError = opts.onError;
    this.#timer = this.#clock.setInterval(() => this.#tick(), opts.tickMs ?? DEFAULT_TICK_MS);
  }

  /** New revision: scales it to its initial scale at once. Known revision: updates its settings. Throws ScalingAnnotationsError. */
  upsert(key: string, opts: RevisionScalingOptions): void {
    let spec: ScalingSpec;
    try {
      spec = scalingSpecFor(this.#config, opts.annotations, opts.containerConcurrency);
    } catch (err) {
      if (err instanceof ScalingAnnotationsError) throw new ScalingAnnotationsError(err.issues, key);
      throw err;
    }
    const entry = this.#revisions.get(key);
    if (entry) {
      entry.opts = opts;
      entry.spec = spec;
      this.#rebound(key, entry);
      return;
    }
    const now = this.#clock.now();
    let state = initialDeciderState(spec, now);
    if (opts.resumeAt !== undefined) {
      const desired = applyBounds(spec.minScale, spec.maxScale, opts.resumeAt);
      state = { ...state, desired, phase: desired > 0 ? 'active' : 'zero', initialized: true };
    }
    this.#revisions.set(key, {
      opts,
      spec,
      buckets: new TimedBuckets(),
      state,
      ready: 0,
      since: now,
      last: { desired: state.desired, panicking: false, stableConcurrency: 0, panicConcurrency: 0 },
    });
    this.#scaler.scale(key, state.desired);
  }

  remove(key: string): void {
    this.#revisions.delete(key);
  }

  /** A new config-autoscaler: re-merges every revision's settings. */
  setConfig(config: AutoscalerConfig): void {
    this.#config = config;
    for (const [key, entry] of this.#revisions) {
      try {
        entry.spec = scalingSpecFor(config, entry.opts.annotations, entry.opts.containerConcurrency);
      } catch (err) {
        const e = err instanceof ScalingAnnotationsError ? new ScalingAnnotationsError(err.issues, key) : err;
        this.#onError?.(key, e instanceof Error ? e : new Error(String(e)));
        continue;
      }
      this.#rebound(key, entry);
    }
  }

  setReadyReplicas(key: string, n: number): void {
    const entry = this.#revisions.get(key);
    if (entry) entry.ready = n;
  }

  /**
   * Activator stats (time-weighted concurrency over the last second). Reports for unknown revisions are dropped.
   * `source` names the activator when several report (each its share of the requests): their reports add up.
   */
  report(key: string, concurrency: number, now: number, source?: string): void {
    this.#revisions.get(key)?.buckets.record(now, concurrency, source);
  }

  /** The first request to a revision at zero: scale to max(1, min-scale, activation-scale) now. */
  poke(key: string): void {
    const entry = this.#revisions.get(key);
    if (!entry) return;
    const before = entry.state.desired;
    entry.state = pokeDecider(entry.spec, entry.state, this.#clock.now());
    entry.last = { ...entry.last, desired: entry.state.desired };
    if (entry.state.desired !== before) this.#scaler.scale(key, entry.state.desired);
  }

  /** The count a revision started at: max(initial-scale, min-scale) within max-scale (0 with initial-scale 0). */
  initialScale(key: string): number | undefined {
    const spec = this.#revisions.get(key)?.spec;
    return spec ? initialScaleOf(spec) : undefined;
  }

  desired(key: string): number | undefined {
    return this.#revisions.get(key)?.state.desired;
  }

  state(key: string): RevisionScaleState | undefined {
    const last = this.#revisions.get(key)?.last;
    return last ? { ...last } : undefined;
  }

  /** The merged settings a revision runs on. */
  spec(key: string): ScalingSpec | undefined {
    const spec = this.#revisions.get(key)?.spec;
    return spec ? { ...spec } : undefined;
  }

  close(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#revisions.clear();
  }

  #tick(): void {
    const now = this.#clock.now();
    for (const [key, entry] of this.#revisions) {
      const { spec } = entry;
      let stable = entry.buckets.windowAverage(now, spec.stableWindowMs);
      let panic = entry.buckets.windowAverage(now, spec.panicWindowMs);
      if (stable.kind === 'no-data' && now - entry.since >= spec.stableWindowMs) {
        const zero: WindowAverage = { kind: 'average', value: 0 };
        stable = zero;
        panic = zero;
      }
      const before = entry.state.desired;
      const pd = entry.opts.progressDeadlineSeconds;
      const d = decide({
        spec,
        stable,
        panic,
        readyReplicas: entry.ready,
        now,
        state: entry.state,
        ...(pd !== undefined && pd > 0 ? { activationTimeoutMs: pd * 1000 + ACTIVATION_TIMEOUT_BUFFER_MS } : {}),
      });
      entry.state = d.nextState;
      entry.last = { desired: d.desiredScale, panicking: d.panicking, stableConcurrency: d.stableConcurrency, panicConcurrency: d.panicConcurrency };
      if (d.desiredScale !== before) this.#scaler.scale(key, d.desiredScale);
      this.#onDecision?.(key, d);
    }
  }

  /** Settings changed: bring the current count within the new min/max at once. */
  #rebound(key: string, entry: Entry): void {
    const { minScale, maxScale } = entry.spec;
    const cur = entry.state.desired;
    let next = cur < minScale ? minScale : cur;
    if (maxScale !== 0 && next > maxScale) next = maxScale;
    if (next === cur) return;
    entry.state = { ...entry.state, desired: next, phase: next > 0 ? 'active' : entry.state.phase, idleSince: next > 0 ? undefined : entry.state.idleSince };
    if (cur === 0) entry.state = { ...entry.state, activeSince: this.#clock.now() };
    entry.last = { ...entry.last, desired: next };
    this.#scaler.scale(key, next);
  }
}
