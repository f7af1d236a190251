/**
 * Time-weighted in-flight accounting per revision, as Knative's activator concurrency reporter: a request
 * counts from arrival (queued ones included) until it finishes; each interval's report is the integral of
 * in-flight over the interval divided by its length (2 requests of 500 ms in 1 s = 1.0). Pure: every call
 * takes `now`.
 */
export interface ConcurrencySample {
  key: string;
  concurrency: number;
}

interface Acc {
  current: number;
  lastChange: number;
  /** in-flight × ms accumulated since the interval start */
  area: number;
  /** something arrived, left or stayed in flight during this interval */
  active: boolean;
  /** the last report for this revision was > 0 (so a final 0 is still owed) */
  owesZero: boolean;
}

export class ConcurrencyAccounting {
  #intervalStart: number;
  readonly #accs = new Map<string, Acc>();

  constructor(now: number) {
    this.#intervalStart = now;
  }

  arrive(key: string, now: number): void {
    let a = this.#accs.get(key);
    if (a === undefined) {
      a = { current: 0, lastChange: Math.max(now, this.#intervalStart), area: 0, active: false, owesZero: false };
      this.#accs.set(key, a);
    }
    this.#advance(a, now);
    a.current++;
    a.active = true;
  }

  depart(key: string, now: number): void {
    const a = this.#accs.get(key);
    if (a === undefined || a.current === 0) return;
    this.#advance(a, now);
    a.current--;
    a.active = true;
  }

  /** Requests counted for `key` right now (queued + dispatched). */
  current(key: string): number {
    return this.#accs.get(key)?.current ?? 0;
  }

  /**
   * Closes the interval at `now`: returns the average for every revision with activity in it, plus a
   * final 0 for revisions that were active last interval and idle in this one, then starts a new interval.
   */
  collect(now: number): ConcurrencySample[] {
    const span = now - this.#intervalStart;
    const out: ConcurrencySample[] = [];
    for (const [key, a] of this.#accs) {
      this.#advance(a, now);
      if (a.active || a.current > 0) {
        const avg = span > 0 ? a.area / span : a.current;
        out.push({ key, concurrency: avg });
        a.owesZero = avg > 0;
      } else if (a.owesZero) {
        out.push({ key, concurrency: 0 });
        a.owesZero = false;
      } else {
        this.#accs.delete(key);
        continue;
      }
      a.area = 0;
      a.active = false;
    }
    this.#intervalStart = now;
    return out;
  }

  #advance(a: Acc, now: number): void {
    const from = Math.max(a.lastChange, this.#intervalStart);
    if (now > from) a.area += a.current * (now - from);
    if (now > a.lastChange) a.lastChange = now;
  }
}
