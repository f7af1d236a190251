/**
 * Per-attempt deadlines without a timer per attempt. Attempts with the same timeout form a lane; since
 * they start in order, their deadlines are in order too, so a lane is a FIFO with ONE timer armed for its
 * oldest pending deadline. Finishing an attempt just clears its slot (O(1)); the timer, when it fires,
 * expires what is due and re-arms for the next pending deadline. With deliveries that finish well within
 * their timeout, a lane's timer fires about once per timeout period instead of a timer per attempt.
 *
 * The sender runs them on the system clock (real timers: they bound real network I/O); tests drive a
 * ManualClock.
 */
import type { Clock, Timer } from '../../src/clock.js';

/** Something with a deadline: `expire()` runs once if it is still pending at its deadline. */
export interface Expirable {
  expire(): void;
}

/** A lane slot's handle: `cancel()` when the attempt finishes first. */
export interface DeadlineHandle {
  cancel(): void;
}

class Lane {
  #deadlines: number[] = [];
  #items: Array<Expirable | null> = [];
  #head = 0;
  #timer: Timer | undefined;

  constructor(
    readonly clock: Clock,
    readonly ms: number,
    readonly onEmpty: (lane: Lane) => void,
  ) {}

  add(item: Expirable): DeadlineHandle {
    const deadline = this.clock.now() + this.ms;
    const index = this.#items.length;
    this.#deadlines.push(deadline);
    this.#items.push(item);
    if (this.#timer === undefined) this.#arm(deadline);
    const items = this.#items;
    return {
      cancel: () => {
        // The arrays may have been compacted or replaced since: only clear the slot if it is still ours.
        if (items === this.#items && items[index] === item) items[index] = null;
      },
    };
  }

  #arm(deadline: number): void {
    this.#timer = this.clock.setTimeout(() => this.#fire(), Math.max(1, Math.ceil(deadline - this.clock.now())));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.clock.now();
    const due: Expirable[] = [];
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head];
      if (item === null) {
        this.#head++;
        continue;
      }
      if ((this.#deadlines[this.#head] ?? 0) > now) break;
      due.push(item as Expirable);
      this.#items[this.#head] = null;
      this.#head++;
    }
    this.#compact();
    if (this.#head < this.#items.length) this.#arm(this.#deadlines[this.#head] ?? now);
    else this.onEmpty(this);
    for (const item of due) item.expire();
  }

  /** Drops the cleared prefix; the arrays are replaced, so outstanding handles of dropped slots become no-ops. */
  #compact(): void {
    if (this.#head === 0) return;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#deadlines = [];
      this.#head = 0;
      return;
    }
    if (this.#head < 1024 || this.#head * 2 < this.#items.length) return;
    this.#items = this.#items.slice(this.#head);
    this.#deadlines = this.#deadlines.slice(this.#head);
    this.#head = 0;
  }

  get armed(): boolean {
    return this.#timer !== undefined;
  }
}

/** Deadline lanes by timeout (ms). */
export class Deadlines {
  readonly #lanes = new Map<number, Lane>();

  constructor(readonly clock: Clock) {}

  /** Calls `item.expire()` after `ms` unless the returned handle is cancelled first. */
  add(ms: number, item: Expirable): DeadlineHandle {
    let lane = this.#lanes.get(ms);
    if (lane === undefined) {
      lane = new Lane(this.clock, ms, (l) => {
        if (this.#lanes.get(l.ms) === l && !l.armed) this.#lanes.delete(l.ms);
      });
      this.#lanes.set(ms, lane);
    }
    return lane.add(item);
  }
}
