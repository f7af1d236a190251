/**
 * The in-memory event backend (broker classes `MTChannelBasedBroker` and `Memory`).
 *
 * BEST EFFORT: events live only in this process's memory. Everything queued, in flight or waiting out a
 * retry back-off is LOST when the process crashes or exits, and when a consumer or broker is closed.
 * Use the Redis or Kafka broker class for at-least-once delivery.
 *
 * `publish` fans an event out to every subscription of the broker that exists at that moment (a
 * subscription created later does not see earlier events, as in Knative's in-memory channel) and resolves
 * once the event is in every queue. `publishBatch` does the same for a batch, all or nothing: when any queue
 * lacks room for the WHOLE batch (its waiting events + the batch > the broker's backlog limit) it rejects with
 * a retriable BackendFullError (the ingress answers 503 + Retry-After) without enqueueing anything anywhere; a
 * batch larger than the limit itself is a BatchTooLargeError (413). The limit is per broker (BrokerSettings
 * `maxBacklog`, from the `wisp.dev/max-backlog` annotation), else `maxQueued`. Check and enqueue run in one
 * synchronous step, so the limit is exact.
 */
import type { CloudEvent } from 'cloudevents';
import type { Clock } from '../../src/clock.js';
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
  #closed = false;

  constructor(opts: MemoryBackendOptions) {
    this.#clock = opts.clock;
    this.#maxQueued = Math.max(1, opts.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.#closeTimeoutMs = Math.max(0, opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    this.#onError = opts.onError ?? ((err) => process.stderr.write(`wisp broker: ${err.message}\n`));
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
    await Promise.all([...subs].map((s) => s.close()));
  }

  publish(broker: BrokerRef, event: CloudEvent<unknown>): Promise<void> {
    return this.publishBatch(broker, [event]);
  }

  async publishBatch(broker: BrokerRef, events: readonly CloudEvent<unknown>[]): Promise<void> {
    const key = brokerKey(broker);
    if (this.#closed) throw new BackendClosedError(key);
    const subs = this.#brokers.get(key);
    if (subs === undefined) throw new BrokerNotFoundError(broker.namespace, broker.name);
    if (events.length === 0 || subs.size === 0) return;
    const limit = this.#limitOf(key);
    if (events.length > limit) {
      const first = subs.values().next().value as MemorySubscription;
      throw new BatchTooLargeError(key, events.length, limit, `the backlog limit of trigger ${first.trigger}`);
    }
    for (const s of subs) if (s.queued + events.length > limit) throw new BackendFullError(key, s.trigger, limit, s.queued);
    for (const s of subs) for (const e of events) s.enqueue(e);
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
      onClose: (s) => owner.delete(s),
    });
    subs.add(consumer);
    return consumer;
  }

  /** In memory a subscription lives only as long as its consumer, so there is nothing left to forget. */
  async unsubscribe(_sub: TriggerSubscription): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
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
