/**
 * Per key, writes the latest wanted value: one write in flight per key, values asked for meanwhile coalesce (only the
 * newest is written next), a failed write is tried again after a doubling back-off on the injected Clock, unless a
 * newer value came in (that one is written instead, after the same delay). The write itself is handed in, so this
 * runs against a fake in unit tests.
 */
import type { Clock, Timer } from '../../clock.js';

export interface KeyedWriterOptions<V> {
  clock: Clock;
  write(key: string, value: V): Promise<void>;
  /** A write failed; `attempt` counts from 1. It is retried. */
  onError(key: string, err: unknown, attempt: number): void;
  /** Retry back-off: initialMs (200) doubling up to maxMs (30 000). */
  backoff?: { initialMs?: number; maxMs?: number };
}

interface Slot<V> {
  wanted: { value: V } | undefined;
  running: Promise<void> | undefined;
  timer: Timer | undefined;
  failures: number;
}

export class KeyedWriter<V> {
  readonly #o: KeyedWriterOptions<V>;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #slots = new Map<string, Slot<V>>();
  #closed = false;

  constructor(opts: KeyedWriterOptions<V>) {
    this.#o = opts;
    this.#initialMs = opts.backoff?.initialMs ?? 200;
    this.#maxMs = opts.backoff?.maxMs ?? 30_000;
  }

  /** Asks for `value` to be written for `key` (replacing any value not written yet). */
  set(key: string, value: V): void {
    if (this.#closed) return;
    const slot = this.#slot(key);
    slot.wanted = { value };
    this.#pump(key, slot);
  }

  /** A write for `key` waiting out its back-off is tried now (e.g. what it waited for has just happened). */
  kick(key: string): void {
    const slot = this.#slots.get(key);
    if (!slot?.timer) return;
    slot.timer.cancel();
    slot.timer = undefined;
    this.#pump(key, slot);
  }

  /** Whether a value for `key` is waiting or being written. */
  busy(key: string): boolean {
    const slot = this.#slots.get(key);
    return slot !== undefined && (slot.wanted !== undefined || slot.running !== undefined);
  }

  /** Resolves when the write in flight for `key` (if any) has ended, whatever its outcome. */
  async idle(key: string): Promise<void> {
    await this.#slots.get(key)?.running;
  }

  /** Drops what `key` still wanted and resolves when its write in flight (if any) has ended. */
  async forget(key: string): Promise<void> {
    const slot = this.#slots.get(key);
    if (!slot) return;
    // A later set() starts a fresh slot; this one's write in flight ends without a retry.
    this.#slots.delete(key);
    slot.wanted = undefined;
    slot.timer?.cancel();
    slot.timer = undefined;
    await slot.running;
  }

  /** No more writes start; resolves when the writes in flight have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    const running: Promise<void>[] = [];
    for (const slot of this.#slots.values()) {
      slot.wanted = undefined;
      slot.timer?.cancel();
      slot.timer = undefined;
      if (slot.running) running.push(slot.running);
    }
    await Promise.all(running);
  }

  #slot(key: string): Slot<V> {
    let slot = this.#slots.get(key);
    if (!slot) this.#slots.set(key, (slot = { wanted: undefined, running: undefined, timer: undefined, failures: 0 }));
    return slot;
  }

  #pump(key: string, slot: Slot<V>): void {
    if (this.#closed || slot.running || slot.timer || !slot.wanted) return;
    const { value } = slot.wanted;
    slot.wanted = undefined;
    slot.running = (async () => {
      try {
        await this.#o.write(key, value);
        slot.failures = 0;
      } catch (err) {
        slot.failures += 1;
        this.#o.onError(key, err, slot.failures);
        // Try again: this value, unless a newer one came in meanwhile (or the key was forgotten).
        if (!this.#closed && this.#slots.get(key) === slot) {
          slot.wanted ??= { value };
          const ms = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(slot.failures - 1, 30));
          slot.timer = this.#o.clock.setTimeout(() => {
            slot.timer = undefined;
            this.#pump(key, slot);
          }, ms);
        }
      } finally {
        slot.running = undefined;
      }
      if (this.#slots.get(key) !== slot) return;
      if (slot.wanted && !slot.timer) this.#pump(key, slot);
      else if (!slot.wanted && !slot.timer) this.#slots.delete(key);
    })();
  }
}
