/**
 * The in-memory event backend (broker classes `MTChannelBasedBroker` and `Memory`).
 *
 * BEST EFFORT: events live only in this process's memory. Everything queued, in flight or waiting out a
 * retry back-off is LOST when the process crashes or exits, and when a consumer or broker is closed.
 * Use the Redis or Kafka broker class for at-least-once delivery.
 *
 * `publish` fans an event out to every subscription of the broker that exists at that moment (a
 * subscription created later does not see earlier events, as in Knative's in-memory channel) and resolves
 * once the event is in every queue that wants it. Publish-time filtering: a subscription that carries its Trigger's
 * filter (TriggerSubscription `prefilter`, given by the dispatcher) evaluates it here and queues only events that
 * match; the others are counted as filtered in bulk (one call per subscription per publish). A Trigger that does
 * not match so costs its filter evaluation only (no queue entry, no handler call), and `maxBacklog` and pacing see
 * only events queued for delivery. Filter semantics are unchanged: Knative's broker filters each event for each
 * Trigger once, before delivery; an event rejected by the filter in force at publish is gone (as in Knative, where
 * it never reached the subscriber's queue), an event queued before a filter change meets the new filter when
 * taken (see dispatcher/handler.ts). Each queue keeps arrival order. `publishBatch` does the same for a batch, all or nothing: when any queue
 * lacks room for the WHOLE batch (its waiting events + the batch's events it wants > the broker's backlog limit) it rejects with
 * a retriable BackendFullError (the ingress answers 503 + Retry-After) without enqueueing anything anywhere; a
 * batch larger than the limit itself is a BatchTooLargeError (413). The limit is per broker (BrokerSettings
 * `maxBacklog`, from the `wisp.dev/max-backlog` annotation), else `maxQueued`. Check and enqueue run in one
 * synchronous step, so the limit is exact.
 *
 * Pacing (option `pacing`, on in `wisp up`): the ingress, the dispatcher and the subscriber connections share one
 * event loop, and a request that only stores an event costs far less than the delivery it causes (ten with ten
 * Triggers). A producer sending as fast as it is answered therefore filled every queue to the backlog limit
 * (latency = limit / delivery rate, seconds) and then heard 503s while the subscriber was half idle: dispatch was
 * starved by ingress. With pacing, a publish that finds a queue of its broker holding `highWater` events or more
 * (enough to keep every delivery slot busy) waits, in arrival order, until the consumers have taken events below
 * it, and so answers the producer at the pace its Triggers are delivered. The wait is bounded (`maxWaitMs`, on the
 * clock): after it the events are stored anyway while there is room under the limit, so a subscriber that does not
 * keep up still gets its backlog (and, at the limit, the producer its 503) as before. A waiting publish has stored
 * nothing: the producer's 202 still means "stored", and nothing accepted is dropped.
 */
import type { CloudEvent } from 'cloudevents';
import type { Clock } from '../../src/clock.js';
import { Deadlines, type DeadlineHandle, type Expirable } from '../delivery/deadlines.js';
import { DEFAULT_MAX_BACKLOG, type BrokerRef, type BrokerSettings, type Consumer, type EventBackend, type EventHandler, type TriggerBacklog, type TriggerSubscription } from '../types.js';
import { BackendClosedError, BackendFullError, BatchTooLargeError, BrokerNotFoundError, type HandlerFailedError } from '../errors.js';
import { MemorySubscription } from './memory-subscription.js';

/**
 * Events waiting per subscription before `publish` rejects (the ingress answers 503 + Retry-After: 1): the
 * platform-wide DEFAULT_MAX_BACKLOG (10 000), see broker/types.ts. Not more: the queue is only a buffer for
 * bursts, and its length is the latency added to every event behind it; 100 000 (an earlier default) let a
 * producer that outruns its subscribers pile up ~20-30 s of delay and, with ten Triggers, a million events (up to
 * GBs) in memory before it heard anything.
 */
export const DEFAULT_MAX_QUEUED = DEFAULT_MAX_BACKLOG;
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

export interface MemoryBackendOptions {
  clock: Clock;
  /** Events waiting per subscription before `publish` rejects with BackendFullError, for brokers without their own `maxBacklog` (default 10 000). */
  maxQueued?: number;
  /** How long close() waits for handler calls in flight (default 30 s, on `clock`; 0 = do not wait). */
  closeTimeoutMs?: number;
  /** Told about handlers that throw or return a malformed outcome (a bug; the event counts as done). */
  onError?: (err: HandlerFailedError) => void;
  /** Paces publishers to the consumers (see the file comment). Default: off (publish stores or rejects at once). */
  pacing?: MemoryPacing;
}

export interface MemoryPacing {
  /**
   * Events waiting per subscription at or above which a publish waits: `perSlot` × the subscription's maxInFlight,
   * at least `min` (defaults 2 and 64: two events ready for every busy slot).
   */
  perSlot?: number;
  min?: number;
  /** Longest a publish waits before it is stored anyway (or, at the limit, refused), ms on the clock. */
  maxWaitMs: number;
}

export const DEFAULT_PACING: Readonly<MemoryPacing> = Object.freeze({ perSlot: 2, min: 64, maxWaitMs: 1_000 });

/** A publish waiting for its broker's queues to go below their high-water marks. */
interface Waiter extends Expirable {
  events: readonly CloudEvent<unknown>[];
  resolve: () => void;
  reject: (err: unknown) => void;
  deadline: DeadlineHandle | undefined;
  settled: boolean;
}

export interface MemorySubscriptionStats {
  /** `<namespace>/<broker>` */
  broker: string;
  /** `<namespace>/<trigger>` */
  trigger: string;
  /** Events waiting for a slot. */
  queued: number;
  /** Slots in use (handler calls running or events waiting out a retry back-off). */
  inFlight: number;
}

export class MemoryBackend implements EventBackend {
  readonly classes = Object.freeze(['MTChannelBasedBroker', 'Memory'] as const);
  readonly #clock: Clock;
  readonly #maxQueued: number;
  readonly #closeTimeoutMs: number;
  readonly #onError: (err: HandlerFailedError) => void;
  readonly #brokers = new Map<string, Set<MemorySubscription>>();
  /** Backlog limit per broker that has its own (BrokerSettings `maxBacklog`). */
  readonly #limits = new Map<string, number>();
  readonly #pacing: Required<MemoryPacing> | undefined;
  /** Paced publishes per broker, in arrival order. */
  readonly #waiters = new Map<string, Waiter[]>();
  /** Brokers whose waiters are being admitted (admission stores events, which may take events, which admits...). */
  readonly #admitting = new Set<string>();
  /** The waits' deadlines: one timer per lane of equal waits, not one per waiting publish (it waits on every event under load). */
  readonly #deadlines: Deadlines;
  #closed = false;

  constructor(opts: MemoryBackendOptions) {
    this.#clock = opts.clock;
    this.#maxQueued = Math.max(1, opts.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.#closeTimeoutMs = Math.max(0, opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    this.#onError = opts.onError ?? ((err) => process.stderr.write(`wisp broker: ${err.message}\n`));
    this.#deadlines = new Deadlines(opts.clock);
    if (opts.pacing !== undefined) {
      this.#pacing = {
        perSlot: Math.max(0, opts.pacing.perSlot ?? DEFAULT_PACING.perSlot ?? 2),
        min: Math.max(1, opts.pacing.min ?? DEFAULT_PACING.min ?? 64),
        maxWaitMs: Math.max(0, opts.pacing.maxWaitMs),
      };
    }
  }

  async ensureBroker(broker: BrokerRef, settings: BrokerSettings = {}): Promise<void> {
    const key = brokerKey(broker);
    if (this.#closed) throw new BackendClosedError(key);
    if (!this.#brokers.has(key)) this.#brokers.set(key, new Set());
    if (settings.maxBacklog !== undefined) this.#limits.set(key, Math.max(1, Math.floor(settings.maxBacklog)));
    else this.#limits.delete(key);
  }

  async deleteBroker(broker: BrokerRef): Promise<void> {
    const key = brokerKey(broker);
    const subs = this.#brokers.get(key);
    this.#limits.delete(key);
    if (subs === undefined) return;
    this.#brokers.delete(key);
    this.#failWaiters(key, new BrokerNotFoundError(broker.namespace, broker.name));
    await Promise.all([...subs].map((s) => s.close()));
  }

  publish(broker: BrokerRef, event: CloudEvent<unknown>): Promise<void> {
    return this.publishBatch(broker, [event]);
  }

  publishBatch(broker: BrokerRef, events: readonly CloudEvent<unknown>[]): Promise<void> {
    const key = brokerKey(broker);
    try {
      if (this.#pacing !== undefined && this.#mustWait(key)) return this.#wait(key, broker, events);
      this.#store(key, broker, events);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Checks room for the whole batch in every queue of the broker, then enqueues it everywhere (or throws, storing nothing). */
  #store(key: string, broker: BrokerRef, events: readonly CloudEvent<unknown>[]): void {
    if (this.#closed) throw new BackendClosedError(key);
    const subs = this.#brokers.get(key);
    if (subs === undefined) throw new BrokerNotFoundError(broker.namespace, broker.name);
    if (events.length === 0 || subs.size === 0) return;
    const limit = this.#limitOf(key);
    if (events.length > limit) {
      const first = subs.values().next().value as MemorySubscription;
      throw new BatchTooLargeError(key, events.length, limit, `the backlog limit of trigger ${first.trigger}`);
    }
    // The limit counts events queued for delivery only: a Trigger's filter runs before its queue (as Knative's
    // broker filter runs before the subscriber), so events it rejects take no room. Only a queue that could overflow
    // if every event matched has the batch's matches counted first (evaluating its filter twice, a rare case).
    for (const s of subs) {
      if (s.queued + events.length <= limit) continue;
      const matching = s.matchingOf(events);
      if (s.queued + matching > limit) throw new BackendFullError(key, s.trigger, limit, s.queued);
    }
    for (const s of subs) s.offer(events);
  }

  /** True when a publish to `key` must queue behind others or wait for its consumers (pacing on). */
  #mustWait(key: string): boolean {
    if (this.#closed) return false;
    if ((this.#waiters.get(key)?.length ?? 0) > 0) return true;
    return this.#aboveHighWater(key);
  }

  #aboveHighWater(key: string): boolean {
    const subs = this.#brokers.get(key);
    const pacing = this.#pacing;
    if (subs === undefined || pacing === undefined) return false;
    for (const s of subs) if (s.queued >= this.#highWaterOf(s, pacing)) return true;
    return false;
  }

  #highWaterOf(s: MemorySubscription, pacing: Required<MemoryPacing>): number {
    return Math.max(pacing.min, pacing.perSlot * s.maxInFlight);
  }

  #wait(key: string, broker: BrokerRef, events: readonly CloudEvent<unknown>[]): Promise<void> {
    const pacing = this.#pacing as Required<MemoryPacing>;
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        events,
        resolve,
        reject,
        deadline: undefined,
        settled: false,
        // Past the wait, store while there is room under the limit (or refuse at it), as without pacing.
        expire: () => {
          if (w.settled) return;
          const l = this.#waiters.get(key);
          const i = l?.indexOf(w) ?? -1;
          if (l !== undefined && i >= 0) l.splice(i, 1);
          if (l?.length === 0) this.#waiters.delete(key);
          this.#settle(w, () => this.#store(key, broker, events));
        },
      };
      let list = this.#waiters.get(key);
      if (list === undefined) this.#waiters.set(key, (list = []));
      list.push(w);
      w.deadline = this.#deadlines.add(pacing.maxWaitMs, w);
    });
  }

  #settle(w: Waiter, store: () => void): void {
    w.settled = true;
    w.deadline?.cancel();
    try {
      store();
      w.resolve();
    } catch (err) {
      w.reject(err);
    }
  }

  /** A consumer of `key` took events: admit waiting publishes, in order, while every queue is below its high-water mark. */
  #admit(key: string, broker: BrokerRef): void {
    if (this.#admitting.has(key)) return;
    const list = this.#waiters.get(key);
    if (list === undefined) return;
    this.#admitting.add(key);
    try {
      while (list.length > 0 && !this.#aboveHighWater(key)) {
        const w = list.shift() as Waiter;
        this.#settle(w, () => this.#store(key, broker, w.events));
      }
      if (list.length === 0) this.#waiters.delete(key);
    } finally {
      this.#admitting.delete(key);
    }
  }

  #failWaiters(key: string, err: Error): void {
    const list = this.#waiters.get(key);
    if (list === undefined) return;
    this.#waiters.delete(key);
    for (const w of list) this.#settle(w, () => {
      throw err;
    });
  }

  async subscribe(sub: TriggerSubscription, handle: EventHandler): Promise<Consumer> {
    const key = brokerKey(sub.broker);
    if (this.#closed) throw new BackendClosedError(key);
    let subs = this.#brokers.get(key);
    if (subs === undefined) {
      subs = new Set();
      this.#brokers.set(key, subs);
    }
    const owner = subs;
    const consumer = new MemorySubscription(sub, handle, {
      clock: this.#clock,
      closeTimeoutMs: this.#closeTimeoutMs,
      onError: this.#onError,
      onClose: (s) => {
        owner.delete(s);
        this.#admit(key, sub.broker);
      },
      ...(this.#pacing !== undefined && { onTake: () => this.#admit(key, sub.broker) }),
    });
    subs.add(consumer);
    return consumer;
  }

  /** In memory a subscription lives only as long as its consumer, so there is nothing left to forget. */
  async unsubscribe(_sub: TriggerSubscription): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
    for (const key of [...this.#waiters.keys()]) this.#failWaiters(key, new BackendClosedError(key));
    const all = [...this.#brokers.values()].flatMap((subs) => [...subs]);
    this.#brokers.clear();
    await Promise.all(all.map((s) => s.close()));
  }

  /** Events waiting per subscription against its broker's limit, for the Broker's status and the backlog gauge. */
  async backlog(): Promise<TriggerBacklog[]> {
    const out: TriggerBacklog[] = [];
    for (const [broker, subs] of this.#brokers) {
      const limit = this.#limitOf(broker);
      for (const s of subs) out.push({ broker, trigger: s.trigger, events: s.queued, limit });
    }
    return out;
  }

  #limitOf(broker: string): number {
    return this.#limits.get(broker) ?? this.#maxQueued;
  }

  /** Queue depth and slots in use per subscription, for metrics. */
  stats(): MemorySubscriptionStats[] {
    const out: MemorySubscriptionStats[] = [];
    for (const [broker, subs] of this.#brokers) {
      for (const s of subs) out.push({ broker, trigger: s.trigger, queued: s.queued, inFlight: s.inFlight });
    }
    return out;
  }
}

function brokerKey(b: BrokerRef): string {
  return `${b.namespace}/${b.name}`;
}
