import type { Clock, Timer } from '../../src/clock.js';

interface Scheduled {
  id: number;
  at: number;
  every?: number;
  fn: () => void;
}

/** A clock that moves only when a test says so. Timers fire in time order during advance(). */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, Scheduled>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.#schedule(fn, Math.max(0, ms));
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.#schedule(fn, Math.max(1, ms), Math.max(1, ms));
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const next = [...this.#timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.#now = next.at;
      if (next.every !== undefined) next.at += next.every;
      else this.#timers.delete(next.id);
      next.fn();
    }
    this.#now = end;
  }

  /** Advances time and lets promise continuations run between timers. */
  async advanceAsync(ms: number, step = 1): Promise<void> {
    const end = this.#now + ms;
    while (this.#now < end) {
      this.advance(Math.min(step, end - this.#now));
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  pendingTimers(): number {
    return this.#timers.size;
  }

  #schedule(fn: () => void, delay: number, every?: number): Timer {
    const id = ++this.#seq;
    const entry: Scheduled = { id, at: this.#now + delay, fn };
    if (every !== undefined) entry.every = every;
    this.#timers.set(id, entry);
    return { cancel: () => this.#timers.delete(id) };
  }
}
