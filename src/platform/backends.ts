import { BackendUnavailableError } from '../../broker/errors.js';
import type { BrokerRef, BrokerSettings, Consumer, EventBackend, EventHandler, TriggerBacklog, TriggerSubscription } from '../../broker/types.js';

/**
 * A backend that is created on first use: `wisp up` offers the Redis class to every user, but connects to Redis
 * only once a Broker of that class exists.
 */
export class LazyBackend implements EventBackend {
  #backend: EventBackend | undefined;

  constructor(
    readonly classes: readonly string[],
    private readonly create: () => EventBackend,
  ) {}

  #get(): EventBackend {
    this.#backend ??= this.create();
    return this.#backend;
  }

  ensureBroker(broker: BrokerRef, settings?: BrokerSettings): Promise<void> {
    return this.#get().ensureBroker(broker, settings);
  }
  deleteBroker(broker: BrokerRef): Promise<void> {
    return this.#get().deleteBroker(broker);
  }
  publish(broker: BrokerRef, event: Parameters<EventBackend['publish']>[1]): Promise<void> {
    return this.#get().publish(broker, event);
  }
  publishBatch(broker: BrokerRef, events: Parameters<EventBackend['publishBatch']>[1]): Promise<void> {
    return this.#get().publishBatch(broker, events);
  }
  /** Nothing to report before first use (no broker of the class yet). */
  async backlog(): Promise<TriggerBacklog[]> {
    return (await this.#backend?.backlog?.()) ?? [];
  }
  subscribe(sub: TriggerSubscription, handle: EventHandler): Promise<Consumer> {
    return this.#get().subscribe(sub, handle);
  }
  unsubscribe(sub: TriggerSubscription): Promise<void> {
    return this.#get().unsubscribe(sub);
  }
  health(): { ok: boolean; reason?: string } {
    return this.#backend?.health?.() ?? { ok: true };
  }
  async close(): Promise<void> {
    await this.#backend?.close();
  }
}

/** A class this process was not configured for (Kafka without WISP_KAFKA_BROKERS): every call says how to configure it. */
export class UnconfiguredBackend implements EventBackend {
  constructor(
    readonly classes: readonly string[],
    private readonly why: string,
  ) {}

  #fail(broker: BrokerRef): Promise<never> {
    return Promise.reject(new BackendUnavailableError(`${broker.namespace}/${broker.name}`, this.why));
  }
  ensureBroker(broker: BrokerRef): Promise<void> {
    return this.#fail(broker);
  }
  deleteBroker(): Promise<void> {
    return Promise.resolve();
  }
  publish(broker: BrokerRef): Promise<void> {
    return this.#fail(broker);
  }
  publishBatch(broker: BrokerRef): Promise<void> {
    return this.#fail(broker);
  }
  subscribe(sub: TriggerSubscription): Promise<Consumer> {
    return this.#fail(sub.broker);
  }
  unsubscribe(): Promise<void> {
    return Promise.resolve();
  }
  health(): { ok: boolean; reason?: string } {
    return { ok: false, reason: this.why };
  }
  async close(): Promise<void> {}
}
