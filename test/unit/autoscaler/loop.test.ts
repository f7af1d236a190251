import { afterEach, describe, expect, it } from 'vitest';
import { Autoscaler, parseAutoscalerConfigMap, type Decision } from '../../../autoscaler/index.js';
import type { WorkloadScaler } from '../../../src/runtime/types.js';
import { ManualClock } from '../../support/clock.js';

const KEY = 'default/hello-00001';
const A = (name: string): string => `autoscaling.knative.dev/${name}`;

/** A runtime whose replicas are ready the moment they are asked for. */
class InstantRuntime implements WorkloadScaler {
  readonly calls: { at: number; key: string; n: number }[] = [];
  autoscaler: Autoscaler | undefined;
  constructor(private readonly clock: ManualClock) {}
  scale(key: string, replicas: number): void {
    this.calls.push({ at: this.clock.now(), key, n: replicas });
    this.autoscaler?.setReadyReplicas(key, replicas);
  }
  counts(key = KEY): number[] {
    return this.calls.filter((c) => c.key === key).map((c) => c.n);
  }
}

let open: Autoscaler[] = [];
afterEach(() => {
  for (const a of open) a.close();
  open = [];
});

function setup(opts: { config?: Record<string, string> } = {}) {
  const clock = new ManualClock();
  const runtime = new InstantRuntime(clock);
  const decisions: { at: number; key: string; d: Decision }[] = [];
  const autoscaler = new Autoscaler({
    clock,
    scaler: runtime,
    ...(opts.config ? { config: parseAutoscalerConfigMap(opts.config) } : {}),
    onDecision: (key, d) => decisions.push({ at: clock.now(), key, d }),
  });
  runtime.autoscaler = autoscaler;
  open.push(autoscaler);
  return { clock, runtime, autoscaler, decisions };
}

describe('Autoscaler loop', () => {
  it('scales a new revision to its initial scale at once, once', () => {
    const { runtime, autoscaler } = setup();
    autoscaler.upsert(KEY, { containerConcurrency: 0 });
    expect(runtime.counts()).toEqual([1]);
    expect(autoscaler.desired(KEY)).toBe(1);
    autoscaler.upsert(KEY, { containerConcurrency: 0 });
    expect(runtime.counts()).toEqual([1]);
    autoscaler.upsert('default/other-00001', { containerConcurrency: 0, annotations: { [A('initial-scale')]: '3' } });
    expect(runtime.counts('default/other-00001')).toEqual([3]);
  });

  it('holds the initial scale of a revision that never gets ready only until its progress deadline + 10 s (Knative activation timeout)', () => {
    const { clock, autoscaler } = setup();
    const B = 'default/held-00001';
    autoscaler.upsert(KEY, { containerConcurrency: 0, annotations: { [A('initial-scale')]: '3' }, progressDeadlineSeconds: 5 });
    autoscaler.upsert(B, { containerConcurrency: 0, annotations: { [A('initial-scale')]: '3' } });
    // Nothing ever becomes ready.
    autoscaler.setReadyReplicas(KEY, 0);
    autoscaler.setReadyReplicas(B, 0);
    clock.advance(100_000);
    expect(autoscaler.desired(KEY)).toBe(0);
    expect(autoscaler.desired(B)).toBe(3);
  });

  it('starts at zero when the cluster allows a zero initial scale', () => {
    const { runtime, autoscaler } = setup({ config: { 'allow-zero-initial-scale': 'true' } });
    autoscaler.upsert(KEY, { containerConcurrency: 0, annotations: { [A('initial-scale')]: '0' } });
    expect(runtime.counts()).toEqual([0]);
    // What the serving reconciler reads to mark the Revision Ready at zero.
    expect(autoscaler.initialScale(KEY)).toBe(0);
    autoscaler.upsert('default/other-00001', { containerConcurrency: 0, annotations: { [A('initial-scale')]: '0', [A('min-scale')]: '2' } });
    expect(autoscaler.initialScale('default/other-00001')).toBe(2);
    expect(autoscaler.initialScale('default/unknown-00001')).toBeUndefined();
  });

  it('50 concurrent at cc=1 panics and scales up; after the load stops each tick at most halves, then zero after the grace period', () => {
    const { clock, runtime, autoscaler, decisions } = setup();
    autoscaler.upsert(KEY, { containerConcurrency: 1 }); // target 0.7 per replica
    let load = 50;
    const reporter = clock.setInterval(() => autoscaler.report(KEY, load, clock.now()), 1000);
    try {
      clock.advance(2000);
      expect(autoscaler.state(KEY)).toMatchObject({ panicking: true, desired: 72 }); // ceil(50 / 0.7)
      expect(runtime.counts()).toEqual([1, 72]);

      clock.advance(18_000);
      expect(autoscaler.desired(KEY)).toBe(72);
      load = 0;
      const stopAt = clock.now();
      clock.advance(300_000);

      const after = runtime.calls.filter((c) => c.at > stopAt).map((c) => c.n);
      expect(after.at(-1)).toBe(0);
      let prev = 72;
      for (const n of after) {
        expect(n, `${prev} → ${n}`).toBeLessThan(prev);
        expect(n, `${prev} → ${n}`).toBeGreaterThanOrEqual(Math.floor(prev / 2));
        prev = n;
      }
      // Still panicking (no decrease) until one stable window after the last tick over the threshold (t = 2 s).
      const firstDown = runtime.calls.find((c) => c.at > stopAt);
      expect(firstDown?.at).toBe(clock.now() - 300_000 - 20_000 + 64_000);
      // Zero only once the stable average had been exactly 0 for the grace period.
      const zeroAt = runtime.calls.find((c) => c.n === 0)?.at ?? 0;
      const firstZeroAvg = decisions.find((e) => e.at > stopAt && e.d.stableConcurrency === 0)?.at ?? Infinity;
      expect(zeroAt - firstZeroAvg).toBeGreaterThanOrEqual(30_000);
      expect(decisions.filter((e) => e.at >= firstZeroAvg && e.at < zeroAt).every((e) => e.d.desiredScale === 1)).toBe(true);
    } finally {
      reporter.cancel();
    }
  });

  it('a revision that never gets a request goes to zero a stable window plus the grace period after it started', () => {
    const { clock, runtime, autoscaler } = setup();
    const start = clock.now();
    autoscaler.upsert(KEY, { containerConcurrency: 0 });
    clock.advance(88_000);
    expect(autoscaler.desired(KEY)).toBe(1);
    clock.advance(2_000);
    expect(autoscaler.desired(KEY)).toBe(0);
    expect(runtime.calls.at(-1)).toEqual({ at: start + 90_000, key: KEY, n: 0 });
  });

  it('a poke at zero scales up at once, not at the next tick', () => {
    const { clock, runtime, autoscaler } = setup();
    autoscaler.upsert(KEY, { containerConcurrency: 0 });
    autoscaler.upsert('default/fast-00001', { containerConcurrency: 0, annotations: { [A('activation-scale')]: '3' } });
    clock.advance(90_000);
    expect(autoscaler.desired(KEY)).toBe(0);
    const pokedAt = clock.now() + 500;
    clock.advance(500);
    autoscaler.poke(KEY);
    autoscaler.poke('default/fast-00001');
    expect(runtime.calls.slice(-2)).toEqual([
      { at: pokedAt, key: KEY, n: 1 },
      { at: pokedAt, key: 'default/fast-00001', n: 3 },
    ]);
    // The request is in flight: the activator reports it and the revision stays up.
    autoscaler.report(KEY, 1, clock.now());
    clock.advance(10_000);
    expect(autoscaler.desired(KEY)).toBeGreaterThanOrEqual(1);
  });

  it('a new ConfigMap re-merges every revision, and annotations still win over it', () => {
    const { runtime, autoscaler } = setup();
    autoscaler.upsert(KEY, { containerConcurrency: 0 });
    autoscaler.upsert('default/pinned-00001', { containerConcurrency: 0, annotations: { [A('min-scale')]: '1' } });
    autoscaler.setConfig(parseAutoscalerConfigMap({ 'min-scale': '3' }));
    expect(runtime.counts()).toEqual([1, 3]);
    expect(runtime.counts('default/pinned-00001')).toEqual([1]);
    expect(autoscaler.desired('default/pinned-00001')).toBe(1);
  });

  it('changing annotations applies new bounds at once', () => {
    const { runtime, autoscaler } = setup();
    autoscaler.upsert(KEY, { containerConcurrency: 0 });
    autoscaler.upsert(KEY, { containerConcurrency: 0, annotations: { [A('min-scale')]: '2' } });
    expect(runtime.counts()).toEqual([1, 2]);
  });

  it('rejects invalid annotations with the revision, the annotation and the reason', () => {
    const { autoscaler } = setup();
    expect(() => autoscaler.upsert(KEY, { containerConcurrency: 0, annotations: { [A('window')]: '6x' } })).toThrow(
      'revision default/hello-00001: metadata.annotations[autoscaling.knative.dev/window]: invalid duration "6x"',
    );
    expect(autoscaler.desired(KEY)).toBeUndefined();
  });

  it('forgets removed revisions and stops ticking on close', () => {
    const { clock, autoscaler } = setup();
    autoscaler.upsert(KEY, { containerConcurrency: 0 });
    autoscaler.remove(KEY);
    expect(autoscaler.desired(KEY)).toBeUndefined();
    expect(autoscaler.state(KEY)).toBeUndefined();
    autoscaler.report(KEY, 5, clock.now()); // dropped, no throw
    autoscaler.close();
    expect(clock.pendingTimers()).toBe(0);
  });
});
