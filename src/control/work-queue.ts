/**
 * A deduplicating work queue, as Kubernetes controllers use: keys added while one is being processed
 * run again afterwards; a key is never processed twice at once; errors are reported, not thrown.
 */
export class WorkQueue {
  readonly #pending = new Set<string>();
  readonly #handler: (key: string) => Promise<void> | void;
  readonly #onError: (key: string, err: unknown) => void;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(opts: { handler: (key: string) => Promise<void> | void; onError: (key: string, err: unknown) => void }) {
    this.#handler = opts.handler;
    this.#onError = opts.onError;
  }

  add(key: string): void {
    if (this.#closed) return;
    this.#pending.add(key);
    this.#running ??= this.#drain();
  }

  /** Resolves when every key added so far has been processed. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  close(): void {
    this.#closed = true;
    this.#pending.clear();
  }

  async #drain(): Promise<void> {
    await Promise.resolve();
    try {
      for (const key of this.#pending) {
        this.#pending.delete(key);
        try {
          await this.#handler(key);
        } catch (err) {
          this.#onError(key, err);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}
