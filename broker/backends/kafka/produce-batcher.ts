/**
 * Batches produce requests per topic, the way Kafka's own producer does (its record accumulator): a record waits
 * while a request to its topic is already in flight, and, with `lingerMs`, for at most `lingerMs` after the topic's
 * previous request started (an adaptive linger: see below).
 *
 * Per topic: records queue in publish order. When fewer than `maxInFlightPerTopic` requests to the topic are
 * in flight, the queue goes out as one request (at most `maxBatchRecords` records / `maxBatchBytes` bytes; the
 * rest waits for the next one). With one request in flight (the default) an idle broker sends an event at once,
 * and under load every event that arrived meanwhile shares the next request (natural batching). A second
 * request in flight (maxInFlightPerTopic 2) is only started for a full batch.
 *
 * Each `add` resolves once the request carrying its record succeeded, and rejects with that request's error if
 * it failed: nothing resolves that the send did not confirm. `addAll` queues a UNIT of records (an ingress batch):
 * the queue must have room for all of them or none is queued (`queueFull`; `tooLarge` for a unit larger than the
 * whole queue), and a unit is never split across requests (a unit over maxBatchRecords/maxBatchBytes goes alone). Records of one topic leave in `add` order and a
 * request keeps that order, so events of one key keep their order as long as one request is in flight per
 * topic (a send retried inside the client could otherwise land after a later request).
 *
 * Linger (`lingerMs`, default 0 = none): Kafka's cost is per request (the broker's request handling, one fetch
 * response per request for every consumer; measured ~150-350 µs of broker CPU and ~200 µs of Wisp CPU per request
 * at 1 000 single events/s), so a steady trickle of events sent one request each costs several times what it costs
 * batched. Unlike the Java client's fixed linger.ms, a record waits only if the topic's previous request STARTED
 * less than lingerMs ago: a lone event on a quiet topic goes at once (its latency does not grow), a stream of events
 * goes out at most once per lingerMs per topic, each request carrying what arrived meanwhile (+ at most lingerMs).
 * `lingerRecords` queued records (default 16) end the wait at once: a linger measured from the last request's start
 * alone would cap a busy topic at (records per request) / lingerMs (measured: 64 concurrent publishers fell from
 * ~16 000 to ~8 000 events/s with 5 ms), while under load batches fill by themselves. close() sends what lingers.
 *
 * Pure apart from the injected `send`, `clock` (linger timers, the bounded `close`) and `queueMicrotask` (records
 * added in the same turn share a request).
 */
import type { Clock, Timer } from '../../../src/clock.js';

export interface ProduceBatcherOptions<R> {
  /** Sends one batch to a topic; resolves when the records are stored (acked). */
  send: (topic: string, records: R[]) => Promise<void>;
  /** Approximate bytes of a record, for `maxBatchBytes`. */
  sizeOf: (record: R) => number;
  clock: Clock;
  /** Records per request (default 1000). */
  maxBatchRecords?: number;
  /** Bytes per request (default 900 KiB, under Kafka's default 1 MiB message.max.bytes); a larger record goes alone. */
  maxBatchBytes?: number;
  /** Least time between the starts of two requests to a topic while it is not under load (default 0; see above). */
  lingerMs?: number;
  /** Records queued that end a linger at once (default 16), so a linger never caps a busy topic's throughput. */
  lingerRecords?: number;
  /** Requests in flight per topic (default 1, which keeps per-key order even when a send is retried). */
  maxInFlightPerTopic?: number;
  /** Records queued (not yet sent) per topic before `add` rejects (default 20 000). */
  maxQueuedPerTopic?: number;
  /** The error for an `add` to a full queue. */
  queueFull: (topic: string, queued: number) => Error;
  /** The error for an `addAll` of more records than `maxQueuedPerTopic` (default: `queueFull`). */
  tooLarge?: (topic: string, records: number, limit: number) => Error;
  /** The error for an `add` after `close`, and for records still queued when `close` gives up. */
  closed: (topic: string) => Error;
}

export const DEFAULT_MAX_BATCH_RECORDS = 1_000;
export const DEFAULT_MAX_BATCH_BYTES = 900 * 1024;
export const DEFAULT_MAX_IN_FLIGHT_PER_TOPIC = 1;
export const DEFAULT_MAX_QUEUED_PER_TOPIC = 20_000;
export const DEFAULT_LINGER_RECORDS = 16;

interface Pending<R> {
  records: R[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface TopicQueue<R> {
  items: Array<Pending<R>>;
  head: number;
  /** Records in items[head..]. */
  queued: number;
  inFlight: number;
  scheduled: boolean;
  /** Pending linger timer (the queue waits for it to send). */
  linger: Timer | undefined;
}

export interface ProduceBatcherStats {
  queued: number;
  inFlight: number;
  /** Requests sent so far and records they carried. */
  requests: number;
  records: number;
}

export class ProduceBatcher<R> {
  readonly #o: Required<Omit<ProduceBatcherOptions<R>, 'send' | 'sizeOf' | 'clock' | 'queueFull' | 'closed' | 'tooLarge'>> & ProduceBatcherOptions<R>;
  readonly #topics = new Map<string, TopicQueue<R>>();
  readonly #idleWaiters: Array<() => void> = [];
  /** When the last request to each topic started (kept after its queue emptied, for the linger). */
  readonly #lastSentAt = new Map<string, number>();
  #requests = 0;
  #records = 0;
  #closed = false;

  constructor(opts: ProduceBatcherOptions<R>) {
    this.#o = {
      ...opts,
      maxBatchRecords: Math.max(1, Math.floor(opts.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS)),
      maxBatchBytes: Math.max(1, opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES),
      maxInFlightPerTopic: Math.max(1, Math.floor(opts.maxInFlightPerTopic ?? DEFAULT_MAX_IN_FLIGHT_PER_TOPIC)),
      lingerMs: Math.max(0, opts.lingerMs ?? 0),
      lingerRecords: Math.max(1, Math.floor(opts.lingerRecords ?? DEFAULT_LINGER_RECORDS)),
      maxQueuedPerTopic: Math.max(1, Math.floor(opts.maxQueuedPerTopic ?? DEFAULT_MAX_QUEUED_PER_TOPIC)),
    };
  }

  /** Queues a record for `topic`; resolves once the request carrying it succeeded. */
  add(topic: string, record: R): Promise<void> {
    return this.addAll(topic, [record]);
  }

  /**
   * Queues records for `topic` as one unit, all or none: rejects at once, queueing nothing, when the queue lacks
   * room for all of them. Resolves once the one request carrying them all succeeded.
   */
  addAll(topic: string, records: readonly R[]): Promise<void> {
    if (this.#closed) return Promise.reject(this.#o.closed(topic));
    if (records.length === 0) return Promise.resolve();
    const limit = this.#o.maxQueuedPerTopic;
    if (records.length > limit) {
      return Promise.reject(this.#o.tooLarge?.(topic, records.length, limit) ?? this.#o.queueFull(topic, this.#topics.get(topic)?.queued ?? 0));
    }
    const q = this.#queue(topic);
    if (q.queued + records.length > limit) return Promise.reject(this.#o.queueFull(topic, q.queued));
    let bytes = 0;
    for (const r of records) bytes += Math.max(0, this.#o.sizeOf(r));
    return new Promise<void>((resolve, reject) => {
      q.items.push({ records: [...records], bytes, resolve, reject });
      q.queued += records.length;
      if (!q.scheduled) {
        q.scheduled = true;
        queueMicrotask(() => {
          q.scheduled = false;
          this.#pump(topic, q);
        });
      }
    });
  }

  stats(): ProduceBatcherStats {
    let queued = 0;
    let inFlight = 0;
    for (const q of this.#topics.values()) {
      queued += q.queued;
      inFlight += q.inFlight;
    }
    return { queued, inFlight, requests: this.#requests, records: this.#records };
  }

  /**
   * Stops accepting records, sends what is queued and waits for every request, at most `timeoutMs` on the
   * clock; records still queued then are rejected with `closed` (requests in flight end on their own timeout).
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    for (const [topic, q] of [...this.#topics]) if (q.linger !== undefined) this.#pump(topic, q);
    if (!this.#idle()) {
      await new Promise<void>((resolve) => {
        const timer = this.#o.clock.setTimeout(resolve, Math.max(0, timeoutMs));
        this.#idleWaiters.push(() => {
          timer.cancel();
          resolve();
        });
      });
    }
    for (const [topic, q] of this.#topics) {
      const left = q.items.slice(q.head);
      q.items = [];
      q.head = 0;
      q.queued = 0;
      for (const p of left) p.reject(this.#o.closed(topic));
    }
  }

  #queue(topic: string): TopicQueue<R> {
    let q = this.#topics.get(topic);
    if (q === undefined) {
      q = { items: [], head: 0, queued: 0, inFlight: 0, scheduled: false, linger: undefined };
      this.#topics.set(topic, q);
    }
    return q;
  }

  /** Starts requests while the topic has room: any batch when none is in flight, only full batches otherwise. */
  #pump(topic: string, q: TopicQueue<R>): void {
    if (q.linger !== undefined) {
      // Lingering: enough records (or close) end the wait early.
      if (!this.#closed && !this.#enoughToSend(q)) return;
      q.linger.cancel();
      q.linger = undefined;
    }
    while (q.inFlight < this.#o.maxInFlightPerTopic && q.head < q.items.length) {
      if (q.inFlight > 0 && !this.#fullBatchQueued(q)) break;
      if (q.inFlight === 0 && !this.#closed && this.#lingers(topic, q)) break;
      this.#lastSentAt.set(topic, this.#o.clock.now());
      this.#sendBatch(topic, q, this.#takeBatch(q));
    }
    if (q.inFlight === 0 && q.head >= q.items.length) {
      this.#topics.delete(topic);
      if (this.#idle()) for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  /** Whether the queue waits out the linger (arming its timer); `lingerRecords` queued records never wait. */
  #lingers(topic: string, q: TopicQueue<R>): boolean {
    if (this.#o.lingerMs <= 0) return false;
    const wait = (this.#lastSentAt.get(topic) ?? Number.NEGATIVE_INFINITY) + this.#o.lingerMs - this.#o.clock.now();
    if (wait <= 0 || this.#enoughToSend(q)) return false;
    q.linger = this.#o.clock.setTimeout(() => {
      q.linger = undefined;
      if (this.#topics.get(topic) === q) this.#pump(topic, q);
    }, wait);
    return true;
  }

  #enoughToSend(q: TopicQueue<R>): boolean {
    return q.queued >= this.#o.lingerRecords || this.#fullBatchQueued(q);
  }

  #fullBatchQueued(q: TopicQueue<R>): boolean {
    if (q.queued >= this.#o.maxBatchRecords) return true;
    let bytes = 0;
    for (let i = q.head; i < q.items.length; i++) {
      bytes += (q.items[i] as Pending<R>).bytes;
      if (bytes >= this.#o.maxBatchBytes) return true;
    }
    return false;
  }

  /** Whole units, up to maxBatchRecords / maxBatchBytes; the first unit goes even when it alone is larger. */
  #takeBatch(q: TopicQueue<R>): Array<Pending<R>> {
    const batch: Array<Pending<R>> = [];
    let bytes = 0;
    let records = 0;
    while (q.head < q.items.length) {
      const next = q.items[q.head] as Pending<R>;
      if (batch.length > 0 && (bytes + next.bytes > this.#o.maxBatchBytes || records + next.records.length > this.#o.maxBatchRecords)) break;
      batch.push(next);
      bytes += next.bytes;
      records += next.records.length;
      q.head++;
      q.queued -= next.records.length;
    }
    if (q.head >= q.items.length) {
      q.items = [];
      q.head = 0;
    } else if (q.head > 1024 && q.head * 2 > q.items.length) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    }
    return batch;
  }

  #sendBatch(topic: string, q: TopicQueue<R>, batch: Array<Pending<R>>): void {
    q.inFlight++;
    const records = batch.flatMap((p) => p.records);
    this.#requests++;
    this.#records += records.length;
    let sending: Promise<void>;
    try {
      sending = this.#o.send(topic, records);
    } catch (err) {
      sending = Promise.reject(err);
    }
    sending.then(
      () => this.#settle(topic, q, () => batch.forEach((p) => p.resolve())),
      (err: unknown) => this.#settle(topic, q, () => batch.forEach((p) => p.reject(err))),
    );
  }

  #settle(topic: string, q: TopicQueue<R>, finish: () => void): void {
    q.inFlight--;
    finish();
    // The queue may have been replaced (emptied and dropped, then re-created by a later add): pump the live one.
    const live = this.#topics.get(topic);
    if (live === q) this.#pump(topic, q);
  }

  #idle(): boolean {
    for (const q of this.#topics.values()) if (q.inFlight > 0 || q.head < q.items.length) return false;
    return true;
  }
}
