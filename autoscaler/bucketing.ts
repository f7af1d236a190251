/**
 * Time-bucketed metric windows (knative/serving `pkg/autoscaler/aggregation/bucketing.go`), 1 s buckets. Pure:
 * the caller passes `now`; nothing reads a clock.
 *
 * - Values recorded in the same bucket by one reporter are averaged (an activator reports about once a second; a
 *   late and an early report landing in one bucket must not double the concurrency); the averages of different
 *   reporters (several activators, each seeing its share of the requests) add up, as Knative's collector sums its
 *   pods' stats.
 * - `windowAverage(now, windowMs)` averages the `windowMs / 1 s` buckets ending at the current bucket (or the
 *   previous one while the current has no report yet). Buckets without a report count as 0.
 * - A window that started less than a window ago (first report after a gap of at least the window) is averaged
 *   over the part that has data, as Knative does, so a revision waking from zero sees its load at once.
 * - Never recorded: `{ kind: 'no-data' }`. Nothing recorded inside the window: an average of exactly 0.
 */
import { BUCKET_MS, WINDOW_MAX_MS } from './defaults.js';

export type WindowAverage = { readonly kind: 'no-data' } | { readonly kind: 'average'; readonly value: number };

export const NO_DATA: WindowAverage = Object.freeze({ kind: 'no-data' });

export interface TimedBucketsOptions {
  /** Longest window that will be asked for; older buckets are dropped. Default 1 h (Knative's WindowMax). */
  maxWindowMs?: number;
  /** Default 1 s. */
  bucketMs?: number;
}

interface Bucket {
  /** Per reporter: the sum and count of what it recorded in this bucket. */
  bySource: Map<string, { sum: number; count: number }>;
}

/** A bucket's value: each reporter's average, added up. */
function valueOf(b: Bucket): number {
  let v = 0;
  for (const s of b.bySource.values()) v += s.sum / s.count;
  return v;
}

export class TimedBuckets {
  readonly #buckets = new Map<number, Bucket>();
  readonly #bucketMs: number;
  readonly #maxWindowMs: number;
  #lastWrite: number | undefined;

  constructor(opts: TimedBucketsOptions = {}) {
    this.#bucketMs = opts.bucketMs ?? BUCKET_MS;
    this.#maxWindowMs = opts.maxWindowMs ?? WINDOW_MAX_MS;
  }

  /** Records `value` at time `now` (ms), as reported by `source` (default: the one local reporter). */
  record(now: number, value: number, source = ''): void {
    const at = this.#bucketOf(now);
    let b = this.#buckets.get(at);
    if (!b) this.#buckets.set(at, (b = { bySource: new Map() }));
    const s = b.bySource.get(source);
    if (s) {
      s.sum += value;
      s.count += 1;
    } else {
      b.bySource.set(source, { sum: value, count: 1 });
    }
    if (this.#lastWrite === undefined || at > this.#lastWrite) this.#lastWrite = at;
    this.#prune(at);
  }

  /** True once anything was recorded. */
  hasData(): boolean {
    return this.#lastWrite !== undefined;
  }

  windowAverage(now: number, windowMs: number): WindowAverage {
    if (this.#lastWrite === undefined) return NO_DATA;
    const size = this.#bucketMs;
    const n = Math.max(1, Math.round(windowMs / size));
    const nowB = this.#bucketOf(now);
    const end = this.#buckets.has(nowB) ? nowB : nowB - size;
    const start = end - (n - 1) * size;
    let first: number | undefined;
    let sum = 0;
    for (let t = start; t <= end; t += size) {
      const b = this.#buckets.get(t);
      if (!b) continue;
      first ??= t;
      sum += valueOf(b);
    }
    if (first === undefined) return { kind: 'average', value: 0 };
    // Partial window: no data in the window before `first`, nor in the window-long stretch before it.
    let partial = first > start;
    for (let t = first - size; partial && t >= first - n * size; t -= size) if (this.#buckets.has(t)) partial = false;
    const from = partial ? first : start;
    return { kind: 'average', value: sum / ((end - from) / size + 1) };
  }

  #bucketOf(t: number): number {
    return Math.floor(t / this.#bucketMs) * this.#bucketMs;
  }

  #prune(latest: number): void {
    // Keep two max windows: one to average over, one to tell whether the first bucket starts a new run.
    const oldest = latest - 2 * this.#maxWindowMs;
    if (this.#buckets.size <= (2 * this.#maxWindowMs) / this.#bucketMs + 1) return;
    for (const t of this.#buckets.keys()) if (t < oldest) this.#buckets.delete(t);
  }
}
