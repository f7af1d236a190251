import type { Clock, Timer } from '../clock.js';

/** Re-queue a key whose handler failed after `initialMs`, doubling per consecutive failure up to `maxMs`. */
export interface WorkQueueRetry {
  clock: Clock;
  initialMs: number;
  maxMs: number;
}

/**
 * A deduplicating work queue, as Kubernetes controllers use: keys added while one is being processed
 * run again afterwards; a key is never processed twice at once; errors are reported, not thrown. With `retry`, a
 * key whose handler failed is added again after a back-off (client-go's rate-limited queue), so a write refused
 * while the API server is away is done once it is back.
 */
export class WorkQueue {
  readonly #pending = new Set<string>();
  readonly #handler: (key: string) => Promise<void> | void;
  readonly #onError: (key: string, err: unknown) => void;
  readonly #retry: WorkQueueRetry | undefined;
  readonly #failures = new Map<string, number>();
  readonly #retryTimers = new Map<string, Timer>();
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(opts: { handler: (key: string) => Promise<void> | void; onError: (key: string, err: unknown) => void; retry?: WorkQueueRetry }) {
    this.#handler = opts.handler;
    this.#onError = opts.onError;
    this.#retry = opts.retry;
  }

  add(key: string): void {
    if (this.#closed) return;
    this.#pending.add(key);
    this.#running ??= this.#drain();
  }

  #scheduleRetry(key: string): void {
    const retry = this.#retry;
    if (!retry || this.#closed) return;
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    this.#retryTimers.get(key)?.cancel();
    const delay = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(n - 1, 20));
    this.#retryTimers.set(
      key,
      retry.clock.setTimeout(() => {
        this.#retryTimers.delete(key);
        this.add(key);
      }, delay),
    );
  }

  /** Resolves when every key added so far has been processed. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  close(): void {
    this.#closed = true;
    this.#pending.clear();
    for (const t of this.#retryTimers.values()) t.cancel();
    this.#retryTimers.clear();
  }

  async #drain(): Promise<void> {
    await Promise.resolve();
    try {
      for (const key of this.#pending) {
        this.#pending.delete(key);
        try {
          await this.#handler(key);
          this.#failures.delete(key);
        } catch (err) {
          this.#onError(key, err);
          this.#scheduleRetry(key);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}
