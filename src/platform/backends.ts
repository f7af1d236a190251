import { BackendUnavailableError } from '../../broker/errors.js';
import type { BrokerRef, BrokerSettings, Consumer, EventBackend, EventHandler, TriggerBacklog, TriggerSubscription } from '../../broker/types.js';

/**
 * A backend that is created on first use: `wisp up` offers the Redis class to every user, but connects to Redis
 * only once a Broker of that class exists. `create` may import the backend's module then: bullmq, ioredis and
 * kafkajs are loaded by the first Broker of their class, not by every `wisp up` (they are tens of MB resident).
 * Calls made while it is being created wait for it, in the order they were made.
 */
export class LazyBackend implements EventBackend {
  #backend: EventBackend | undefined;
  #creating: Promise<EventBackend> | undefined;

  constructor(
    readonly classes: readonly string[],
    private readonly create: () => EventBackend | Promise<EventBackend>,
  ) {}

  #get(): Promise<EventBackend> {
    if (this.#backend !== undefined) return Promise.resolve(this.#backend);
    this.#creating ??= Promise.resolve()
      .then(() => this.create())
      .then(
        (b) => (this.#backend = b),
        (err: unknown) => {
          // A failed import or constructor is reported to this caller and retried by the next one.
          this.#creating = undefined;
          throw err;
        },
      );
    return this.#creating;
  }

  async ensureBroker(broker: BrokerRef, settings?: BrokerSettings): Promise<void> {
    return (await this.#get()).ensureBroker(broker, settings);
  }
  async deleteBroker(broker: BrokerRef): Promise<void> {
    return (await this.#get()).deleteBroker(broker);
  }
  // The ingress hot path: no extra promise once the backend exists.
  publish(broker: BrokerRef, event: Parameters<EventBackend['publish']>[1]): Promise<void> {
    const b = this.#backend;
    return b !== undefined ? b.publish(broker, event) : this.#get().then((x) => x.publish(broker, event));
  }
  publishBatch(broker: BrokerRef, events: Parameters<EventBackend['publishBatch']>[1]): Promise<void> {
    const b = this.#backend;
    return b !== undefined ? b.publishBatch(broker, events) : this.#get().then((x) => x.publishBatch(broker, events));
  }
  /** Nothing to report before first use (no broker of the class yet). */
  async backlog(): Promise<TriggerBacklog[]> {
    return (await this.#backend?.backlog?.()) ?? [];
  }
  async subscribe(sub: TriggerSubscription, handle: EventHandler): Promise<Consumer> {
    return (await this.#get()).subscribe(sub, handle);
  }
  async unsubscribe(sub: TriggerSubscription): Promise<void> {
    return (await this.#get()).unsubscribe(sub);
  }
  health(): { ok: boolean; reason?: string } {
    return this.#backend?.health?.() ?? { ok: true };
  }
  async close(): Promise<void> {
    const backend = this.#backend ?? (await this.#creating?.catch(() => undefined));
    await backend?.close();
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
