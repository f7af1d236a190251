import { describe, expect, it } from 'vitest';
import { nextProbeDelay, startRange, type ProbeScheduleConfig } from '../../../src/runtime/local/probe-schedule.js';

/** Probe times (ms after probing began) the schedule gives while every probe fails, up to `untilMs`. */
function probeTimes(cfg: ProbeScheduleConfig, untilMs: number): number[] {
  const times: number[] = [];
  let t = 0;
  for (let attempt = 0; ; attempt++) {
    t += nextProbeDelay(cfg, attempt, t);
    if (t > untilMs) return times;
    times.push(t);
  }
}

describe('probe schedule', () => {
  it('climbs from 1 ms to the period right after spawn, then keeps the period', () => {
    expect(probeTimes({ periodMs: 50 }, 300)).toEqual([1, 3, 7, 15, 31, 63, 113, 163, 213, 263]);
    expect(nextProbeDelay({ periodMs: 50 }, 1000, 60_000)).toBe(50);
  });

  it('never waits less than 1 ms or more than the period', () => {
    expect(probeTimes({ periodMs: 1 }, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(probeTimes({ periodMs: 0 }, 3)).toEqual([1, 2, 3]);
    for (const ms of [undefined, 0.3, 10, 200, 60_000, Number.NaN, -5]) {
      const expected = ms === undefined ? undefined : { minMs: ms, maxMs: ms * 3 };
      for (const elapsed of [0, 0.5, 99, 100, 250, 400, 10_000]) {
        for (const attempt of [0, 3, 9, 100]) {
          const d = nextProbeDelay({ periodMs: 50, expected }, attempt, elapsed);
          expect(d).toBeGreaterThanOrEqual(1);
          expect(d).toBeLessThanOrEqual(50);
        }
      }
    }
  });

  it('with a known start of 200 ms: ladder, lands on 100 ms, every 2 ms up to 400 ms, then the period', () => {
    const times = probeTimes({ periodMs: 50, expected: { minMs: 200, maxMs: 200 } }, 520);
    expect(times.slice(0, 8)).toEqual([1, 3, 7, 15, 31, 63, 100, 102]);
    const dense = times.filter((t) => t >= 100 && t <= 400);
    expect(dense[0]).toBe(100);
    expect(dense.every((t, i) => i === 0 || t - dense[i - 1]! === 2)).toBe(true);
    expect(dense.length).toBe(151);
    expect(times.filter((t) => t > 400)).toEqual([450, 500]);
  });

  it('a replica ready at the expected time is seen within the dense step, and the window costs at most 150 probes', () => {
    for (const expectedMs of [20, 200, 3_000]) {
      const cfg = { periodMs: 50, expected: { minMs: expectedMs, maxMs: expectedMs } };
      const times = probeTimes(cfg, expectedMs * 2);
      const readyAt = expectedMs * 0.9;
      const seen = times.find((t) => t >= readyAt)!;
      expect(seen - readyAt).toBeLessThanOrEqual(Math.max(1, Math.round(expectedMs / 100)));
      expect(times.filter((t) => t >= expectedMs / 2).length).toBeLessThanOrEqual(151);
    }
  });

  it('a slow start past the window falls back to the period', () => {
    const times = probeTimes({ periodMs: 50, expected: { minMs: 10, maxMs: 10 } }, 200);
    expect(times.filter((t) => t > 20).every((t, i, a) => i === 0 || t - a[i - 1]! === 50)).toBe(true);
  });

  it('starts that vary widen the window and coarsen the step, keeping about 150 probes in it', () => {
    const times = probeTimes({ periodMs: 50, expected: { minMs: 120, maxMs: 480 } }, 1_000);
    const dense = times.filter((t) => t >= 60 && t < 960);
    expect(dense[0]).toBe(60);
    expect(dense.every((t, i) => i === 0 || t - dense[i - 1]! === 6)).toBe(true);
    expect(dense.length).toBe(150);
  });

  it('startRange: fastest and slowest of the recent starts', () => {
    expect(startRange([])).toBeUndefined();
    expect(startRange([Number.NaN, -1])).toBeUndefined();
    expect(startRange([230, 120, 480])).toEqual({ minMs: 120, maxMs: 480 });
  });
});
