/**
 * Counters on the hot path without a prom-client call per event. A prom-client child (`counter.labels(...)`) hashes
 * and validates its labels on every `inc()` (prom-client 15), so "look the child up once" still paid a label lookup
 * per event. A CountedChild counts in a plain number; the Counter's `collect` hook (run on every scrape, and on
 * `get()`) hands prom-client the increase since the last scrape, once per child. What a scrape shows is the same.
 */
import type { Counter, LabelValues } from 'prom-client';

export interface Count {
  inc(value?: number): void;
}

export class CountedChild implements Count {
  #n = 0;
  #reported = 0;
  constructor(readonly labels: LabelValues<string>) {}

  inc(value = 1): void {
    this.#n += value;
  }

  flush(counter: Counter<string>): void {
    const d = this.#n - this.#reported;
    if (d > 0) {
      counter.inc(this.labels, d);
      this.#reported = this.#n;
    }
  }
}

/** Children per prom-client Counter (two ingresses in one process share a registry's metric, and so its children). */
const children = new WeakMap<object, Map<string, CountedChild>>();

/** The child of `counter` for `labels` (`key` names the label values), created on first use and kept. */
export function countedChild<T extends string>(counter: Counter<T>, key: string, labels: LabelValues<T>): CountedChild {
  let map = children.get(counter);
  if (map === undefined) children.set(counter, (map = new Map()));
  let c = map.get(key);
  if (c === undefined) map.set(key, (c = new CountedChild(labels)));
  return c;
}

/** For a Counter's `collect` hook: hands prom-client what its children counted since the last call. */
export function flushCounted(counter: Counter<string>): void {
  const map = children.get(counter);
  if (map !== undefined) for (const c of map.values()) c.flush(counter);
}
