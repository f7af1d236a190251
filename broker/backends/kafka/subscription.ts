/**
 * One Trigger's Kafka consumer (group `knative-trigger-<ns>-<name>`).
 *
 * Why `eachBatch` that only enqueues: kafkajs fetches the next batch of a broker only after every batch of
 * the previous fetch returned, so a handler awaited inside `eachBatch` (a slow subscriber, a retry back-off,
 * ordered mode holding a partition) would stall every partition behind it and need hand-made heartbeats.
 * Here `eachBatch` appends the records to a per-partition queue, resolves their offsets (that moves only
 * kafkajs's fetch position) and returns; a partition whose queue is long is paused and resumed once it
 * drains. Handler slots are taken from the queues: up to `maxInFlight` at once in total, and in ordered
 * mode one per partition (the next record of a partition starts once the previous one is `done`).
 *
 * Commits are ours alone (`autoCommit` off): an OffsetTracker per partition commits the lowest unfinished
 * offset, so closing, crashing or a rebalance redelivers exactly the unfinished records. One commit request at
 * a time and at most one per `commitIntervalMs`: the finishes meanwhile fold into the next commit (a commit is
 * a replicated write to `__consumer_offsets`; one per finish would cost Kafka more than the records). A crash
 * redelivers at most the records finished in that interval; close() commits at once.
 * A rebalance (GROUP_JOIN) starts a new epoch: queued records are dropped (kafkajs refetches from the
 * committed offsets) and records still in flight from the old epoch no longer commit.
 */
import type { Consumer as KafkaConsumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Clock, Timer } from '../../../src/clock.js';
import type { Consumer, EventHandler, HandleOutcome, StoredEvent, TriggerSubscription } from '../../types.js';
import { HandlerFailedError } from '../../errors.js';
import { decodeEvent, type RawHeaders } from './codec.js';
import { OffsetTracker, type PartitionOffsets } from './offset-tracker.js';
import type { KafkaLogger } from './logger.js';
import { isHandleOutcome } from '../outcome.js';

const DONE: HandleOutcome = Object.freeze({ kind: 'done' });

export interface KafkaSubscriptionOptions {
  consumer: KafkaConsumer;
  topic: string;
  groupId: string;
  clock: Clock;
  logger: KafkaLogger;
  /** How long close() waits for handlers in flight (on `clock`; 0 = do not wait). */
  closeTimeoutMs: number;
  /** Records queued per partition before the partition is paused. */
  maxQueuedPerPartition: number;
  /** Least time between the starts of two offset commits (on `clock`; 0 = commit as soon as the last one ended). */
  commitIntervalMs: number;
  onClose: (sub: KafkaSubscription) => void;
}

interface Queued {
  offset: number;
  message: KafkaMessage;
}

/** A partition's state for one epoch (one group generation). */
interface PartitionState {
  partition: number;
  offsets: PartitionOffsets;
  queue: Queued[];
  head: number;
  inFlight: number;
  paused: boolean;
}

export class KafkaSubscription implements Consumer {
  readonly maxInFlight: number;
  readonly ordered: boolean;
  readonly #handle: EventHandler;
  readonly #o: KafkaSubscriptionOptions;
  #tracker = new OffsetTracker();
  #partitions = new Map<number, PartitionState>();
  #inFlight = 0;
  #rr = 0;
  #closing: Promise<void> | undefined;
  #committing: Promise<void> | undefined;
  #commitAgain = false;
  #commitTimer: Timer | undefined;
  #lastCommitAt = Number.NEGATIVE_INFINITY;
  readonly #backoffs = new Map<Timer, (continued: boolean) => void>();
  readonly #idleWaiters: Array<() => void> = [];

  constructor(readonly sub: TriggerSubscription, handle: EventHandler, opts: KafkaSubscriptionOptions) {
    this.maxInFlight = Number.isFinite(sub.maxInFlight) ? Math.max(1, Math.floor(sub.maxInFlight)) : 1;
    this.ordered = sub.ordered === true;
    this.#handle = handle;
    this.#o = opts;
  }

  get trigger(): string {
    return this.sub.trigger;
  }

  get groupId(): string {
    return this.#o.groupId;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Handler calls running plus records waiting out a retry back-off. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Subscribes the (connected) consumer to the topic and runs it. `startAt` (a new group): once joined, seek
   * every partition there and commit it, so the group's position exists before this resolves.
   */
  async start(startAt?: ReadonlyArray<{ partition: number; offset: string }>): Promise<void> {
    const c = this.#o.consumer;
    let seekPending = startAt !== undefined;
    c.on(c.events.GROUP_JOIN, () => {
      this.#newEpoch();
      if (!seekPending || startAt === undefined) return;
      seekPending = false;
      for (const p of startAt) c.seek({ topic: this.#o.topic, partition: p.partition, offset: p.offset });
    });
    await c.subscribe({ topic: this.#o.topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => this.#onBatch(payload),
    });
    if (startAt !== undefined && startAt.length > 0) {
      await c.commitOffsets(startAt.map((p) => ({ topic: this.#o.topic, partition: p.partition, offset: p.offset })));
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#o.onClose(this);
    const c = this.#o.consumer;
    try {
      c.pause([{ topic: this.#o.topic }]);
    } catch {
      // Not running yet (never joined): nothing is fetched anyway.
    }
    for (const st of this.#partitions.values()) {
      st.queue = [];
      st.head = 0;
    }
    for (const [timer, resume] of this.#backoffs) {
      timer.cancel();
      resume(false);
    }
    this.#backoffs.clear();
    if (this.#inFlight > 0 && this.#o.closeTimeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#o.clock.setTimeout(resolve, this.#o.closeTimeoutMs);
        this.#idleWaiters.push(() => {
          timer.cancel();
          resolve();
        });
      });
    }
    await this.#flushCommits();
    await c.disconnect().catch((err: unknown) => this.#o.logger.warn(`kafka consumer ${this.#o.groupId}: disconnect failed: ${message(err)}`));
  }

  #newEpoch(): void {
    const wasPaused = [...this.#partitions.values()].filter((p) => p.paused).map((p) => p.partition);
    this.#tracker = new OffsetTracker();
    this.#partitions = new Map();
    if (wasPaused.length > 0 && !this.closed) this.#o.consumer.resume([{ topic: this.#o.topic, partitions: wasPaused }]);
  }

  async #onBatch({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.closed) return;
    const st = this.#state(batch.partition);
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.closed) break;
      st.queue.push({ offset: Number(message.offset), message });
      resolveOffset(message.offset);
    }
    if (st.queue.length - st.head >= this.#o.maxQueuedPerPartition && !st.paused && !this.closed) {
      st.paused = true;
      this.#o.consumer.pause([{ topic: this.#o.topic, partitions: [st.partition] }]);
    }
    this.#pump();
  }

  #state(partition: number): PartitionState {
    let st = this.#partitions.get(partition);
    if (st === undefined) {
      st = { partition, offsets: this.#tracker.partition(partition), queue: [], head: 0, inFlight: 0, paused: false };
      this.#partitions.set(partition, st);
    }
    return st;
  }

  /** Starts queued records while slots are free, taking partitions in turn. */
  #pump(): void {
    const states = [...this.#partitions.values()];
    let idle = 0;
    while (!this.closed && this.#inFlight < this.maxInFlight && states.length > 0 && idle < states.length) {
      const st = states[this.#rr++ % states.length] as PartitionState;
      if (st.head >= st.queue.length || (this.ordered && st.inFlight > 0)) {
        idle++;
        continue;
      }
      idle = 0;
      const item = st.queue[st.head] as Queued;
      st.head++;
      if (st.head > 1024 && st.head * 2 > st.queue.length) {
        st.queue = st.queue.slice(st.head);
        st.head = 0;
      }
      st.offsets.start(item.offset);
      st.inFlight++;
      this.#inFlight++;
      void this.#run(st, item);
    }
  }

  async #run(st: PartitionState, item: Queued): Promise<void> {
    let finished = false;
    const event = this.#decode(item);
    if (event === undefined) finished = true;
    else {
      let current: StoredEvent = { event, attempt: 0 };
      for (;;) {
        const outcome = await this.#call(current);
        if (outcome.kind === 'done') {
          finished = true;
          break;
        }
        if (this.closed || !(await this.#backoff(outcome.delayMs))) break;
        current = { event: current.event, attempt: current.attempt + 1 };
      }
    }
    st.inFlight--;
    this.#inFlight--;
    // A closed consumer commits only in close() (its final flush), a stale epoch never.
    if (finished && this.#partitions.get(st.partition) === st) {
      st.offsets.finish(item.offset);
      if (!this.closed) this.#commitSoon();
    }
    if (st.paused && !this.closed && this.#partitions.get(st.partition) === st && st.queue.length - st.head <= this.#o.maxQueuedPerPartition / 2) {
      st.paused = false;
      this.#o.consumer.resume([{ topic: this.#o.topic, partitions: [st.partition] }]);
    }
    if (this.closed) {
      if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
      return;
    }
    this.#pump();
  }

  /** A record that is not a CloudEvent cannot be delivered: reported and skipped (counts as done). */
  #decode(item: Queued): StoredEvent['event'] | undefined {
    try {
      return decodeEvent({ key: item.message.key, value: item.message.value, headers: item.message.headers as RawHeaders | undefined });
    } catch (err) {
      this.#o.logger.error(`kafka consumer ${this.#o.groupId}: record ${this.#o.topic}/${item.offset} is not a CloudEvent, skipped: ${message(err)}`);
      return undefined;
    }
  }

  /** Runs the handler off the caller's stack; a throw or a malformed outcome is a bug: reported, counted as done. */
  async #call(stored: StoredEvent): Promise<HandleOutcome> {
    let outcome: unknown;
    try {
      outcome = await Promise.resolve().then(() => this.#handle(stored));
    } catch (err) {
      this.#o.logger.error(new HandlerFailedError(this.trigger, stored.event.id, `threw: ${message(err)}`, { cause: err }).message);
      return DONE;
    }
    if (isHandleOutcome(outcome)) return outcome;
    this.#o.logger.error(new HandlerFailedError(this.trigger, stored.event.id, 'returned an invalid outcome').message);
    return DONE;
  }

  /** Resolves true after `delayMs` on the clock, or false if the consumer closes first. */
  #backoff(delayMs: number): Promise<boolean> {
    const ms = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    return new Promise<boolean>((resolve) => {
      const timer = this.#o.clock.setTimeout(() => {
        this.#backoffs.delete(timer);
        resolve(true);
      }, ms);
      this.#backoffs.set(timer, resolve);
    });
  }

  /** Commits moved watermarks: one commit request at a time, at most one per interval; finishes meanwhile fold in. */
  #commitSoon(): void {
    if (this.#committing !== undefined) {
      this.#commitAgain = true;
      return;
    }
    if (this.#commitTimer !== undefined || this.closed) return;
    const wait = this.#lastCommitAt + this.#o.commitIntervalMs - this.#o.clock.now();
    if (wait > 0) {
      this.#commitTimer = this.#o.clock.setTimeout(() => {
        this.#commitTimer = undefined;
        this.#commitSoon();
      }, wait);
      return;
    }
    this.#commitNow();
  }

  #commitNow(): void {
    this.#commitAgain = false;
    this.#lastCommitAt = this.#o.clock.now();
    this.#committing = this.#commitOnce().finally(() => {
      this.#committing = undefined;
      if (this.#commitAgain) this.#commitSoon();
    });
  }

  async #commitOnce(): Promise<void> {
    const tracker = this.#tracker;
    const due = tracker.toCommit();
    if (due.length === 0) return;
    try {
      await this.#o.consumer.commitOffsets(due.map((d) => ({ topic: this.#o.topic, partition: d.partition, offset: String(d.offset) })));
      if (tracker === this.#tracker) for (const d of due) tracker.partition(d.partition).committed(d.offset);
    } catch (err) {
      // A rebalance or a broker hiccup: the records stay uncommitted and are redelivered if nobody commits later.
      this.#o.logger.warn(`kafka consumer ${this.#o.groupId}: commit failed: ${message(err)}`);
    }
  }

  /** close(): the last commit goes out now, whatever the interval. */
  async #flushCommits(): Promise<void> {
    this.#commitTimer?.cancel();
    this.#commitTimer = undefined;
    await this.#committing;
    this.#commitNow();
    await this.#committing;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
