/**
 * Ingress micro-batching for the Redis class: single-event publishes to one broker that arrive in the same turn of
 * the event loop are stored together, one backlog count and one pipelined add per Trigger queue for all of them,
 * instead of a count and an add per event. Pure apart from `setImmediate` (the end of the current loop turn), which
 * is scheduling, not time: no clock is read, so ManualClock tests are unaffected.
 *
 * - Why `setImmediate` and not a microtask: the ingress handles each HTTP request in its own I/O callback, and
 *   microtasks run after every callback, so a microtask would batch one request with itself. The check phase runs
 *   once after the whole poll phase, i.e. after every request Node read in this turn; a lone event waits only for
 *   the rest of the turn it arrived in (no timer, no linger), so the latency of an idle broker does not grow.
 * - `maxBatch` bounds a batch; the batch that reaches it is flushed at once, the next one starts empty.
 * - Every item settles exactly once with its own outcome: `flush` answers per item (stored, or that item's own
 *   refusal, e.g. its Trigger's backlog is full), and a `flush` that rejects (Redis unreachable, a pipeline error)
 *   fails EVERY item of the batch with that error. No item resolves that the store did not acknowledge.
 * - Order: items of one key are handed to `flush` in `add` order; batches of one key are started in order.
 */

export interface PublishBatcherOptions<C, T> {
  /** Stores one batch for `ctx`; resolves with one entry per item, `undefined` = stored, an Error = refused. */
  flush: (ctx: C, items: readonly T[]) => Promise<ReadonlyArray<Error | undefined>>;
  /** Items per batch (≥ 1). */
  maxBatch: number;
}

interface Entry<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface OpenBatch<C, T> {
  ctx: C;
  entries: Array<Entry<T>>;
}

export interface PublishBatcherStats {
  /** Batches handed to `flush` so far, and the items they carried. */
  batches: number;
  items: number;
  /** Batches whose `flush` has not settled yet. */
  inFlight: number;
}

export class PublishBatcher<C, T> {
  readonly #o: PublishBatcherOptions<C, T>;
  readonly #open = new Map<string, OpenBatch<C, T>>();
  readonly #inFlight = new Set<Promise<void>>();
  #scheduled = false;
  #batches = 0;
  #items = 0;

  constructor(opts: PublishBatcherOptions<C, T>) {
    this.#o = { ...opts, maxBatch: Math.max(1, Math.floor(opts.maxBatch)) };
  }

  /** Queues `item` in the open batch of `key` (`ctx` of the first item of a batch is the batch's); resolves once stored. */
  add(key: string, ctx: C, item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let batch = this.#open.get(key);
      if (batch === undefined) {
        batch = { ctx, entries: [] };
        this.#open.set(key, batch);
      }
      batch.entries.push({ item, resolve, reject });
      if (batch.entries.length >= this.#o.maxBatch) {
        this.#open.delete(key);
        this.#start(batch);
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flushNow());
      }
    });
  }

  /** Starts every open batch now (close() calls it so nothing queued is left behind). */
  flushNow(): void {
    this.#scheduled = false;
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const batch of open) this.#start(batch);
  }

  /** Resolves once every batch started so far has settled. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  stats(): PublishBatcherStats {
    return { batches: this.#batches, items: this.#items, inFlight: this.#inFlight.size };
  }

  #start(batch: OpenBatch<C, T>): void {
    const { entries } = batch;
    this.#batches++;
    this.#items += entries.length;
    let flushing: Promise<ReadonlyArray<Error | undefined>>;
    try {
      flushing = this.#o.flush(batch.ctx, entries.map((e) => e.item));
    } catch (err) {
      flushing = Promise.reject(err);
    }
    const done = flushing.then(
      (outcomes) => {
        if (outcomes.length !== entries.length) {
          const err = new TypeError(`publish batch: ${outcomes.length} outcomes for ${entries.length} events`);
          for (const e of entries) e.reject(err);
          return;
        }
        entries.forEach((e, i) => {
          const outcome = outcomes[i];
          if (outcome === undefined) e.resolve();
          else e.reject(outcome);
        });
      },
      (err: unknown) => entries.forEach((e) => e.reject(err)),
    );
    const tracked = done.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }
}
