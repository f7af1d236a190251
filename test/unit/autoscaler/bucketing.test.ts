import { describe, expect, it } from 'vitest';
import { TimedBuckets } from '../../../autoscaler/index.js';

const T0 = 1_000_000;

describe('TimedBuckets', () => {
  it('says there is no data before anything is recorded', () => {
    expect(new TimedBuckets().windowAverage(T0, 60_000)).toEqual({ kind: 'no-data' });
  });

  it('averages a full window, counting seconds without reports as 0', () => {
    const b = new TimedBuckets();
    for (let s = 0; s < 60; s++) b.record(T0 + s * 1000, s % 2 === 0 ? 10 : 0);
    expect(b.windowAverage(T0 + 59_500, 60_000)).toEqual({ kind: 'average', value: 5 });
    // Ten seconds later without reports: 50 buckets of data (25 × 10) over 60.
    expect(b.windowAverage(T0 + 69_500, 60_000)).toEqual({ kind: 'average', value: 250 / 60 });
  });

  it('averages values in one bucket instead of adding them', () => {
    const b = new TimedBuckets();
    b.record(T0 + 100, 4);
    b.record(T0 + 900, 6);
    expect(b.windowAverage(T0 + 950, 6_000)).toEqual({ kind: 'average', value: 5 });
  });

  it("adds up different reporters' averages in a bucket (two activators, each its share of the requests)", () => {
    const b = new TimedBuckets();
    b.record(T0 + 100, 4, 'activator-a');
    b.record(T0 + 900, 6, 'activator-a');
    b.record(T0 + 500, 3, 'activator-b');
    expect(b.windowAverage(T0 + 950, 6_000)).toEqual({ kind: 'average', value: 8 });
    // A reporter that stops (its Pod gone) just stops adding: the next second counts the other alone.
    b.record(T0 + 1500, 3, 'activator-b');
    expect(b.windowAverage(T0 + 1950, 1_000)).toEqual({ kind: 'average', value: 3 });
  });

  it('averages a window that started recently over its data only', () => {
    const b = new TimedBuckets();
    b.record(T0, 30);
    b.record(T0 + 1000, 30);
    expect(b.windowAverage(T0 + 1000, 60_000)).toEqual({ kind: 'average', value: 30 });
    // The current second has no report yet: the window ends at the last complete second.
    expect(b.windowAverage(T0 + 2_500, 60_000)).toEqual({ kind: 'average', value: 30 });
    expect(b.windowAverage(T0 + 3_500, 60_000)).toEqual({ kind: 'average', value: 20 });
  });

  it('starts a new partial window after a gap of a whole window', () => {
    const b = new TimedBuckets();
    b.record(T0, 100);
    b.record(T0 + 120_000, 8);
    expect(b.windowAverage(T0 + 120_000, 60_000)).toEqual({ kind: 'average', value: 8 });
  });

  it('is exactly 0 when nothing was recorded within the window', () => {
    const b = new TimedBuckets();
    b.record(T0, 100);
    expect(b.windowAverage(T0 + 61_000, 60_000)).toEqual({ kind: 'average', value: 0 });
    expect(b.windowAverage(T0 + 7_000, 6_000)).toEqual({ kind: 'average', value: 0 });
  });

  it('computes short and long windows from the same buckets', () => {
    const b = new TimedBuckets();
    for (let s = 0; s < 60; s++) b.record(T0 + s * 1000, s < 54 ? 0 : 12);
    expect(b.windowAverage(T0 + 59_000, 6_000)).toEqual({ kind: 'average', value: 12 });
    expect(b.windowAverage(T0 + 59_000, 60_000)).toEqual({ kind: 'average', value: 1.2 });
  });
});
