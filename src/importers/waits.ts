/**
 * Waits on a Clock that a source runner's stop() cancels together: each resolves true when its time came, or
 * false at once when cancelled. Shared by the runners' retry back-offs.
 */
import type { Clock, Timer } from '../clock.js';

export class CancellableWaits {
  readonly #clock: Clock;
  readonly #pending = new Map<Timer, (ran: boolean) => void>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Resolves true after `ms` on the clock, false if cancelAll() comes first. */
  wait(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(timer);
        resolve(true);
      }, ms);
      this.#pending.set(timer, resolve);
    });
  }

  /** Cancels every pending wait (each resolves false). */
  cancelAll(): void {
    for (const [timer, resolve] of this.#pending) {
      timer.cancel();
      resolve(false);
    }
    this.#pending.clear();
  }
}
