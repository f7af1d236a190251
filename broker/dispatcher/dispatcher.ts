/**
 * Dispatcher: one backend consumer per Trigger, each running the trigger's handler (handler.ts).
 * Trigger changes that keep the broker, backend and maxInFlight swap the runtime in place (new filter,
 * subscriber and delivery apply to the next attempt); others close the consumer and subscribe again.
 * Every subscription carries the Trigger's filter (`prefilter`, read from the current runtime at each call): a
 * backend that evaluates it at publish (Memory) queues only matching events, so a Trigger that does not match costs
 * its filter evaluation and no handler call; Redis and Kafka store every event and the handler filters after taking it.
 */
import type { CloudEvent } from 'cloudevents';
import type { Registry } from 'prom-client';
import type { Clock } from '../../src/clock.js';
import { DispatcherClosedError } from '../delivery/errors.js';
import { HttpSender } from '../delivery/sender.js';
import type { Sender } from '../delivery/types.js';
import type { BrokerRef, Consumer, EventBackend, EventHandler, TriggerPrefilter, TriggerRuntime, TriggerSubscription } from '../types.js';
import { createTriggerHandler, type DispatcherLogger } from './handler.js';
import { DispatcherMetrics, type TriggerMeters } from './metrics.js';
import { describe } from './reply.js';

export interface DispatcherOptions {
  clock: Clock;
  registry: Registry;
  /** Default: an HttpSender owned (and closed) by the dispatcher. An injected sender is the caller's to close. */
  sender?: Sender;
  /** Stores a subscriber's reply event in the broker (re-evaluated against all its triggers). */
  publishReply: (broker: BrokerRef, event: CloudEvent<unknown>) => Promise<void>;
  logger?: DispatcherLogger;
}

interface Entry {
  holder: { current: TriggerRuntime };
  backend: EventBackend;
  consumer: Consumer;
}

const quietInfo = (): void => {};

export class Dispatcher {
  readonly #metrics: DispatcherMetrics;
  readonly #sender: Sender;
  readonly #ownsSender: boolean;
  readonly #opts: DispatcherOptions;
  readonly #logger: DispatcherLogger;
  readonly #entries = new Map<string, Entry>();
  /** Serialises upsert/remove per trigger key. */
  readonly #chains = new Map<string, Promise<void>>();
  #closed = false;

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
    this.#metrics = new DispatcherMetrics(opts.registry);
    this.#ownsSender = opts.sender === undefined;
    this.#sender = opts.sender ?? new HttpSender();
    this.#logger = opts.logger ?? { info: quietInfo, warn: (m) => console.warn(m) };
  }

  /** Starts, updates or moves the trigger's consumer. Rejects when the backend cannot subscribe. */
  upsertTrigger(trigger: TriggerRuntime, backend: EventBackend): Promise<void> {
    if (this.#closed) return Promise.reject(new DispatcherClosedError());
    return this.#serial(trigger.key, async () => {
      if (this.#closed) throw new DispatcherClosedError();
      const existing = this.#entries.get(trigger.key);
      if (existing !== undefined) {
        const cur = existing.holder.current;
        if (existing.backend === backend && cur.namespace === trigger.namespace && cur.broker === trigger.broker && cur.maxInFlight === trigger.maxInFlight && cur.ordered === trigger.ordered) {
          existing.holder.current = trigger;
          return;
        }
        this.#entries.delete(trigger.key);
        await existing.consumer.close();
        if (cur.broker !== trigger.broker || cur.namespace !== trigger.namespace || existing.backend !== backend) {
          // Moved to another broker: the old broker stops keeping events for this trigger.
          await existing.backend.unsubscribe(subscriptionOf(cur));
          this.#metrics.forget({ broker: `${cur.namespace}/${cur.broker}`, trigger: cur.key });
        }
      }
      const holder = { current: trigger };
      const sub = subscriptionOf(trigger);
      sub.prefilter = this.#prefilterOf(holder);
      const consumer = await backend.subscribe(sub, this.handlerFor(() => holder.current));
      this.#entries.set(trigger.key, { holder, backend, consumer });
      this.#logger.info(`dispatcher: trigger ${trigger.key} consuming broker ${trigger.namespace}/${trigger.broker} -> ${trigger.subscriberUri}`);
    });
  }

  /** Stops the trigger's consumer (waits for its handlers in flight) and drops its durable subscription. Unknown keys are a no-op. */
  removeTrigger(key: string): Promise<void> {
    return this.#serial(key, async () => {
      const entry = this.#entries.get(key);
      if (entry === undefined) return;
      this.#entries.delete(key);
      await entry.consumer.close();
      const rt = entry.holder.current;
      await entry.backend.unsubscribe(subscriptionOf(rt));
      this.#metrics.forget({ broker: `${rt.namespace}/${rt.broker}`, trigger: rt.key });
    });
  }

  /**
   * The trigger's filter for a backend that evaluates it at publish (Memory). Reads `holder.current` on every call,
   * so a changed filter applies to the next event published; the metric children are looked up again only when the
   * runtime object changes (no label lookup per event).
   */
  #prefilterOf(holder: { current: TriggerRuntime }): TriggerPrefilter {
    let rt: TriggerRuntime | undefined;
    let meters: TriggerMeters | undefined;
    const logger = this.#logger;
    const metrics = this.#metrics;
    return {
      matches(event) {
        const cur = holder.current;
        const filter = cur.filter;
        try {
          return filter(event) ? filter : undefined;
        } catch (err) {
          logger.warn(`trigger ${cur.key}: filter failed on event ${event.id} (treated as no match): ${describe(err)}`);
          return undefined;
        }
      },
      filtered(count) {
        const cur = holder.current;
        if (cur !== rt || meters === undefined) {
          rt = cur;
          meters = metrics.forTrigger({ broker: `${cur.namespace}/${cur.broker}`, trigger: cur.key });
        }
        meters.filtered.inc(count);
      },
    };
  }

  /** Trigger keys with a running consumer. */
  triggers(): string[] {
    return [...this.#entries.keys()];
  }

  /** The handler a backend runs for a trigger's events (exported for tests and backends). */
  handlerFor(trigger: () => TriggerRuntime): EventHandler {
    return createTriggerHandler({ clock: this.#opts.clock, sender: this.#sender, metrics: this.#metrics, publishReply: this.#opts.publishReply, logger: this.#logger }, trigger);
  }

  /** Stops every consumer, then closes the sender it owns. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#chains.values()]);
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    const results = await Promise.allSettled(entries.map((e) => e.consumer.close()));
    for (const r of results) if (r.status === 'rejected') this.#logger.warn(`dispatcher: a consumer failed to close: ${String(r.reason)}`);
    if (this.#ownsSender) await this.#sender.close();
  }

  #serial(key: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return next;
  }
}

function subscriptionOf(t: TriggerRuntime): TriggerSubscription {
  const sub: TriggerSubscription = { broker: { namespace: t.namespace, name: t.broker }, trigger: t.key, maxInFlight: t.maxInFlight };
  if (t.ordered !== undefined) sub.ordered = t.ordered;
  return sub;
}
