/**
 * haproxy's concurrency as the autoscaler's second source (pure): every poll (~100 ms) adds each revision backend's
 * queued + in-flight requests; every report interval (1 s) yields their average over the interval's polls, as the
 * activator's time-weighted concurrency is an average over its interval. Revisions in serve mode at any poll of the
 * interval are reported even at 0 (no load is data); others only when haproxy held requests for them.
 */
import { keyOfBackend } from './config.js';

export interface LoadReport {
  key: string;
  concurrency: number;
}

export class LoadWindow {
  #sums = new Map<string, number>();
  #samples = 0;
  #served = new Set<string>();

  /** Revision keys whose hosts point at their backends at this poll. */
  served(keys: Iterable<string>): void {
    for (const k of keys) this.#served.add(k);
  }

  /** One `show stat` poll: backend name → qcur + scur. */
  sample(loads: ReadonlyMap<string, number>): void {
    this.#samples++;
    for (const [name, load] of loads) {
      const key = keyOfBackend(name);
      if (key !== undefined) this.#sums.set(key, (this.#sums.get(key) ?? 0) + load);
    }
  }

  /** The interval's averages; starts the next interval. Nothing when no poll answered. */
  drain(): LoadReport[] {
    const samples = this.#samples;
    const sums = this.#sums;
    const keys = new Set([...this.#served, ...sums.keys()]);
    this.#samples = 0;
    this.#sums = new Map();
    this.#served = new Set();
    if (samples === 0) return [];
    return [...keys].map((key) => ({ key, concurrency: (sums.get(key) ?? 0) / samples }));
  }
}
