/**
 * Eventing contracts shared by the broker ingress, the backends (Memory now; Redis and Kafka next), the
 * dispatcher and the control plane. Pure types: no I/O here.
 */
import type { CloudEvent } from 'cloudevents';

/**
 * Storage settings of one broker, from the ConfigMap its `spec.config` names (Knative's `kafka-broker-config` keys
 * `default.topic.partitions` and `default.topic.replication.factor`). Backends without topics ignore them.
 */
export interface BrokerSettings {
  partitions?: number;
  replicationFactor?: number;
  /**
   * Events waiting per Trigger before `publish` rejects with BackendFullError (Memory and Redis classes; from the
   * Broker's `wisp.dev/max-backlog` annotation, else the platform default). Kafka keeps its retention and ignores it.
   */
  maxBacklog?: number;
}

/** A broker's identity. */
export interface BrokerRef {
  namespace: string;
  name: string;
}

/** Knative's Destination (duckv1.Destination): a `ref` to an addressable, or a `uri`, or both (`ref` + relative `uri`). */
export interface Destination {
  ref?: { apiVersion?: string; kind: string; name: string; namespace?: string };
  uri?: string;
}

/** Knative's DeliverySpec as written in YAML (durations are ISO-8601, e.g. `PT0.2S`). */
export interface DeliverySpec {
  retry?: number;
  backoffPolicy?: 'exponential' | 'linear';
  backoffDelay?: string;
  timeout?: string;
  retryAfterMax?: string;
  deadLetterSink?: Destination;
}

/** A DeliverySpec with defaults applied and durations in milliseconds; what the dispatcher runs with. */
export interface ResolvedDelivery {
  /** Retries after the first attempt (Knative's default broker config: 10). */
  retry: number;
  backoffPolicy: 'exponential' | 'linear';
  backoffDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Cap on honoured `Retry-After` (429/503); default 60 000. */
  retryAfterMaxMs: number;
  /** Resolved dead-letter sink URL, if any. */
  deadLetterUri?: string;
}

/** `filter.attributes`, or one element of `filters` (exactly one dialect set). */
export interface SubscriptionsAPIFilter {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: SubscriptionsAPIFilter[];
  any?: SubscriptionsAPIFilter[];
  not?: SubscriptionsAPIFilter;
  cesql?: string;
}

export interface TriggerSpec {
  broker: string;
  filter?: { attributes?: Record<string, string> };
  filters?: SubscriptionsAPIFilter[];
  subscriber: Destination;
  delivery?: DeliverySpec;
}

export interface BrokerSpec {
  config?: { apiVersion?: string; kind: string; name: string; namespace?: string };
  delivery?: DeliverySpec;
}

/** A predicate over an event, compiled once when the Trigger is applied. An evaluation error means "no match". */
export type EventFilter = (event: CloudEvent<unknown>) => boolean;

/** Everything the dispatcher needs to run one Trigger, published by the eventing reconciler. */
export interface TriggerRuntime {
  /** `<namespace>/<trigger>` */
  key: string;
  namespace: string;
  name: string;
  broker: string;
  filter: EventFilter;
  subscriberUri: string;
  delivery: ResolvedDelivery;
  /** Annotation `wisp.dev/max-in-flight` (default 100); 1 gives arrival-order delivery. */
  maxInFlight: number;
  /**
   * Annotation `kafka.eventing.knative.dev/delivery.order: ordered` (Kafka class): events of one partition are
   * delivered one at a time, in order, each blocking until the subscriber answers. Default unordered.
   */
  ordered?: boolean;
}

/** One event as a backend hands it to a consumer. The event is immutable (use `cloneWith` to change it). */
export interface StoredEvent {
  event: CloudEvent<unknown>;
  /** Attempts already made for this trigger (0 on first delivery). */
  attempt: number;
  /**
   * The filter this event already passed, when the backend evaluated it at publish (TriggerSubscription `prefilter`).
   * The handler skips evaluating it again only while the Trigger's filter is still this one.
   */
  matched?: EventFilter;
}

/**
 * What the consumer decided for one event:
 * `done` — delivered, dead-lettered, dropped or filtered out: the backend forgets it (acks / commits);
 * `retry` — deliver again after `delayMs` with `attempt + 1`.
 */
export type HandleOutcome = { kind: 'done' } | { kind: 'retry'; delayMs: number };

export type EventHandler = (stored: StoredEvent) => Promise<HandleOutcome>;

export interface TriggerSubscription {
  broker: BrokerRef;
  /** `<namespace>/<trigger>`: names the consumer (queue, consumer group). */
  trigger: string;
  /** At most this many handler calls at once; with 1, events are handled one at a time in arrival order (retries included). */
  maxInFlight: number;
  /** Per-partition order for backends that partition (Kafka): one event at a time per partition key. */
  ordered?: boolean;
  /**
   * The Trigger's filter, for backends that evaluate it when an event is published and store only the events that
   * match (the Memory backend): a non-matching Trigger then costs one filter evaluation, not a queue slot and a
   * handler call. Backends that store every event for every Trigger (Redis, Kafka) ignore it; their handler filters.
   */
  prefilter?: TriggerPrefilter;
}

/** A Trigger's filter as the dispatcher hands it to a backend (see TriggerSubscription `prefilter`). */
export interface TriggerPrefilter {
  /** The filter in force now if `event` passes it, else undefined. Never throws (a failing filter is no match). */
  matches(event: CloudEvent<unknown>): EventFilter | undefined;
  /** `count` events did not match (counted in bulk: once per subscription per publish, not per event). */
  filtered(count: number): void;
}

export interface Consumer {
  /** Stops taking events; resolves when handlers in flight have finished (bounded). */
  close(): Promise<void>;
}

/**
 * Where a broker keeps its events: in memory (Memory, MTChannelBasedBroker), BullMQ on Redis, or Kafka.
 * Every implementation passes the same contract suite (test/contract/event-backend.ts).
 */
export interface EventBackend {
  /** The broker classes this backend serves, e.g. `['MTChannelBasedBroker', 'Memory']`. */
  readonly classes: readonly string[];
  /** Creates the broker's storage (queues, topic) if needed. Idempotent. `settings` apply when it is created. */
  ensureBroker(broker: BrokerRef, settings?: BrokerSettings): Promise<void>;
  /** Removes the broker's storage and stops its consumers. */
  deleteBroker(broker: BrokerRef): Promise<void>;
  /**
   * Stores one event for every current subscription of the broker. Resolves once stored (durably for durable
   * classes); rejects with a retriable error when it cannot store (the ingress answers 503).
   */
  publish(broker: BrokerRef, event: CloudEvent<unknown>): Promise<void>;
  /**
   * Stores every event of a batch (`application/cloudevents-batch+json`) for every current subscription, or none of
   * them: room for the whole batch is checked before anything is stored, so a rejected batch (BackendFullError,
   * BackendClosedError, BatchTooLargeError, BrokerNotFoundError) leaves no event behind. `publish(b, e)` is
   * `publishBatch(b, [e])`. What a store failure in the middle of a write can leave is per class (see each backend).
   */
  publishBatch(broker: BrokerRef, events: readonly CloudEvent<unknown>[]): Promise<void>;
  /**
   * Starts one consumer for a trigger and makes its subscription durable: from this call on, every event
   * published to the broker is kept for the trigger (in its queue / consumer group) even while no consumer
   * runs — a platform restart or a second process picks them up. Events go to `handle`.
   */
  subscribe(sub: TriggerSubscription, handle: EventHandler): Promise<Consumer>;
  /**
   * Forgets a trigger's durable subscription (its queue, its consumer group) after its consumer was closed:
   * the Trigger was deleted, moved to another broker or is no longer ready. Closing a Consumer alone (shutdown)
   * keeps the subscription. Idempotent.
   */
  unsubscribe(sub: TriggerSubscription): Promise<void>;
  /** Stops every consumer and releases connections. */
  close(): Promise<void>;
  /** Connection state of a backend that talks to a server (Redis, Kafka), for the Broker's status. */
  health?(): { ok: boolean; reason?: string };
  /**
   * Events waiting per trigger of each broker this process serves, against its cap, for the Broker's status and the
   * backlog gauge. Backends without a cap (Kafka: retention) do not implement it.
   */
  backlog?(): Promise<TriggerBacklog[]>;
}

/** One trigger's backlog: events stored and not yet taken by a consumer, and the cap past which publish rejects. */
export interface TriggerBacklog {
  /** `<namespace>/<broker>` */
  broker: string;
  /** `<namespace>/<trigger>` */
  trigger: string;
  events: number;
  limit: number;
}

export { BROKER_CLASS_ANNOTATION } from '../src/api/labels.js';
/** Annotation bounding a Trigger's concurrent deliveries. */
export const MAX_IN_FLIGHT_ANNOTATION = 'wisp.dev/max-in-flight';
export const DEFAULT_MAX_IN_FLIGHT = 100;
/** Broker annotation capping the events waiting per Trigger (Memory and Redis classes), e.g. `"50000"`. */
export { MAX_BACKLOG_ANNOTATION } from '../src/api/labels.js';
/**
 * Default cap of events waiting per Trigger (Memory and Redis classes): 10 000, the activator's queue depth. At a
 * few thousand deliveries per second that is 2-3 s of queueing delay; a producer that outruns its subscribers hears
 * 503 + Retry-After while the backlog is still short, instead of filling memory (Memory) or Redis (Redis).
 */
export const DEFAULT_MAX_BACKLOG = 10_000;
/** Broker classes that keep their store's retention instead of a backlog cap (MAX_BACKLOG_ANNOTATION does not apply). */
export const UNCAPPED_BROKER_CLASSES: readonly string[] = Object.freeze(['Kafka']);
/** Annotation choosing per-partition ordered delivery on Kafka-class brokers (`ordered` | `unordered`). */
export const DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';
