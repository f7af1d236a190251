/**
 * The in-memory event backend (broker classes `MTChannelBasedBroker` and `Memory`).
 *
 * BEST EFFORT: events live only in this process's memory. Everything queued, in flight or waiting out a
 * retry back-off is LOST when the process crashes or exits, and when a consumer or broker is closed.
 * Use the Redis or Kafka broker class for at-least-once delivery.
 *
 * `publish` fans an event out to every subscription of the broker that exists at that moment (a
 * subscription created later does not see earlier events, as in Knative's in-memory channel) and resolves
 * once the event is in every queue. A queue holding `maxQueued` events makes `publish` reject with a
 * retriable BackendFullError (the ingress answers 503 + Retry-After) without enqueueing anywhere.
 */
import type { CloudEvent } from 'cloudevents';
import type { Clock } from '../../src/clock.js';
import type { BrokerRef, Consumer, EventBackend, EventHandler, TriggerSubscription } from '../types.js';
import { BackendClosedError, BackendFullError, BrokerNotFoundError, type HandlerFailedError } from '../errors.js';
import { MemorySubscription } from './memory-subscription.js';

/**
 * Events waiting per subscription before `publish` rejects (the ingress answers 503 + Retry-After: 1).
 * 10 000, not more: the queue is only a buffer for bursts, and its length is the latency added to every
 * event behind it. At a few thousand deliveries per second (one subscriber, bench:broker) 10 000 waiting
 * events are 2-3 s of delay; 100 000 (the earlier default) let a producer that outruns its subscribers
 * pile up ~20-30 s of delay and, with ten Triggers, a million events (up to GBs) in memory before it heard
 * anything. A prompt 503 tells producers to slow down while the backlog is still short. Same depth as the
 * activator's per-revision queue.
 */
export const DEFAULT_MAX_QUEUED = 10_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

export interface MemoryBackendOptions {
  clock: Clock;
  /** Events waiting per subscription before `publish` rejects with BackendFullError (default 10 000). */
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
  #closed = false;

  constructor(opts: MemoryBackendOptions) {
    this.#clock = opts.clock;
    this.#maxQueued = Math.max(1, opts.maxQueued ?? DEFAULT_MAX_QUEUED);
    this.#closeTimeoutMs = Math.max(0, opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    this.#onError = opts.onError ?? ((err) => process.stderr.write(`wisp broker: ${err.message}\n`));
  }

  async ensureBroker(broker: BrokerRef): Promise<void> {
    const key = brokerKey(broker);
    if (this.#closed) throw new BackendClosedError(key);
    if (!this.#brokers.has(key)) this.#brokers.set(key, new Set());
  }

  async deleteBroker(broker: BrokerRef): Promise<void> {
    const key = brokerKey(broker);
    const subs = this.#brokers.get(key);
    if (subs === undefined) return;
    this.#brokers.delete(key);
    await Promise.all([...subs].map((s) => s.close()));
  }

  async publish(broker: BrokerRef, event: CloudEvent<unknown>): Promise<void> {
    const key = brokerKey(broker);
    if (this.#closed) throw new BackendClosedError(key);
    const subs = this.#brokers.get(key);
    if (subs === undefined) throw new BrokerNotFoundError(broker.namespace, broker.name);
    for (const s of subs) if (!s.hasRoom()) throw new BackendFullError(key, s.trigger, this.#maxQueued);
    for (const s of subs) s.enqueue(event);
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
      maxQueued: this.#maxQueued,
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
