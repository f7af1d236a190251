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
 * - `maxInFlightPerKey` (group commit, as Nagle's algorithm): while that many batches of a key are being stored,
 *   the key's next batch waits for one of them to settle (or to fill up) and then leaves in the next turn, carrying
 *   everything that arrived meanwhile. An idle broker's lone event still leaves at once. Why: at a moderate rate
 *   (1 000 ev/s) every loop turn held one event, so each event paid its own backlog count, its own add pipeline and
 *   its own consumer wake-up (~6 socket writes and ~600-850 µs of Wisp CPU per event, against ~250 µs when
 *   batches form under load); waiting for a store in flight costs no timer and no clock, at most the rest of that
 *   store in latency, and lets the events that arrive meanwhile share one store. It is a trade: the smaller the
 *   limit, the bigger the batches and the lower the CPU per event, the longer an event may wait (backend.ts
 *   explains its default).
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
  /** Batches of one key being stored at once before the next one waits (≥ 1; default: no limit). */
  maxInFlightPerKey?: number;
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

/** A key's open batch (if any) and how many of its batches are being stored. */
interface KeyState<C, T> {
  open: OpenBatch<C, T> | undefined;
  storing: number;
}

export interface PublishBatcherStats {
  /** Batches handed to `flush` so far, and the items they carried. */
  batches: number;
  items: number;
  /** Batches whose `flush` has not settled yet. */
  inFlight: number;
}

export class PublishBatcher<C, T> {
  readonly #o: Required<PublishBatcherOptions<C, T>>;
  readonly #keys = new Map<string, KeyState<C, T>>();
  readonly #inFlight = new Set<Promise<void>>();
  #scheduled = false;
  #batches = 0;
  #items = 0;

  constructor(opts: PublishBatcherOptions<C, T>) {
    const limit = opts.maxInFlightPerKey ?? Infinity;
    this.#o = { ...opts, maxBatch: Math.max(1, Math.floor(opts.maxBatch)), maxInFlightPerKey: Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : Infinity };
  }

  /** Queues `item` in the open batch of `key` (`ctx` of the first item of a batch is the batch's); resolves once stored. */
  add(key: string, ctx: C, item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let state = this.#keys.get(key);
      if (state === undefined) {
        state = { open: undefined, storing: 0 };
        this.#keys.set(key, state);
      }
      state.open ??= { ctx, entries: [] };
      const batch = state.open;
      batch.entries.push({ item, resolve, reject });
      if (batch.entries.length >= this.#o.maxBatch) {
        state.open = undefined;
        this.#start(key, state, batch);
      } else if (state.storing < this.#o.maxInFlightPerKey) this.#schedule();
      // else: it leaves once one of the key's batches being stored settles (#settledOne).
    });
  }

  /** Starts every open batch now, whatever is in flight (close() calls it so nothing queued is left behind). */
  flushNow(): void {
    this.#flush(true);
  }

  /** Resolves once every batch started so far has settled. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  stats(): PublishBatcherStats {
    return { batches: this.#batches, items: this.#items, inFlight: this.#inFlight.size };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush(false));
  }

  /** Starts the open batches of the keys below their in-flight limit (all of them when `force`). */
  #flush(force: boolean): void {
    this.#scheduled = false;
    for (const [key, state] of [...this.#keys]) {
      const batch = state.open;
      if (batch === undefined || (!force && state.storing >= this.#o.maxInFlightPerKey)) continue;
      state.open = undefined;
      this.#start(key, state, batch);
    }
  }

  /** One of the key's batches settled: its open batch (what arrived meanwhile) leaves in the next turn. */
  #settledOne(key: string, state: KeyState<C, T>): void {
    state.storing--;
    if (state.open !== undefined) this.#schedule();
    else if (state.storing === 0 && this.#keys.get(key) === state) this.#keys.delete(key);
  }

  #start(key: string, state: KeyState<C, T>, batch: OpenBatch<C, T>): void {
    const { entries } = batch;
    state.storing++;
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
    const tracked = done.finally(() => {
      this.#inFlight.delete(tracked);
      this.#settledOne(key, state);
    });
    this.#inFlight.add(tracked);
  }
}
