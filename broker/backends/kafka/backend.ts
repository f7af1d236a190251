/**
 * The Kafka event backend (broker class `Kafka`), on kafkajs, shaped like Knative's eventing-kafka-broker:
 * one topic per broker `knative-broker-<ns>-<name>` (default 10 partitions, replication 3 clamped to the
 * cluster size), events stored in binary content mode (`ce_` headers, `partitionkey` → record key) with
 * `acks: all`, one consumer group per Trigger `knative-trigger-<ns>-<name>` whose offsets are committed only
 * for contiguous finished records (at-least-once).
 *
 * Durable subscriptions: `subscribe` of a new group commits the topic's current end offsets for it before it
 * resolves, so every event published afterwards is kept for the trigger, consumer running or not. Closing a
 * consumer keeps the group (a restart resumes from the committed offsets; unfinished records come again);
 * `unsubscribe` and `deleteBroker` delete the groups.
 *
 * Producer: publishes are batched per topic (ProduceBatcher): while one produce request to the topic is in flight,
 * the events published meanwhile queue and go out together in the next request, so the request rate, not the
 * event rate, is bounded by Kafka's round trip; an idle broker sends at once. One request in flight per topic
 * keeps events of one key in publish order. A publish resolves after its request's ack and rejects with
 * BackendUnavailableError if the request failed. An adaptive linger (`lingerMs`, default 5 ms) groups a steady
 * trickle into fewer requests without delaying a lone event, and the key-less events of one request share one
 * partition (sticky, as the Java client): both cut Kafka's per-request and per-partition-batch cost (see
 * produce-batcher.ts and #sendBatch).
 *
 * Batches (`publishBatch`), all or nothing as far as Wisp decides: every refusal Wisp makes (produce queue full →
 * 503, backend closed, unknown broker, cluster unreachable at connect, a batch larger than the produce queue → 413)
 * happens before any record is queued, and a batch's records are queued as one unit that goes out in ONE produce
 * request (never split between requests). What Kafka itself guarantees for that request is narrower: kafkajs sends
 * one Produce request per partition leader; Kafka appends each partition's records atomically, but partitions are
 * independent. So when Kafka fails some partitions of a batch that spans several (a leader moving, an ISR timeout
 * under acks=all) and kafkajs's bounded retries run out, the ingress answers 503 while the records of the other
 * partitions are stored: the producer's retry duplicates those (at-least-once, same ids). The same ambiguity exists
 * for a single event whose ack times out after Kafka stored it. Closing it needs a transactional producer
 * (idempotent, one transactionalId per process, consumers reading committed): every flush would become
 * AddPartitionsToTxn + Produce + EndTxn (three round trips instead of one), one transaction at a time per producer
 * (so every broker's topic serialises behind one another), and the idempotent mode needs unbounded retries (see
 * below). Not done; the residual case needs a Kafka-side failure, never mere backpressure.
 *
 * No backlog cap: a Kafka-class Broker keeps Kafka's retention semantics (the topic's retention.ms / retention.bytes
 * decide how much is kept), so the `wisp.dev/max-backlog` annotation does not apply; the only 503 under load is the
 * produce queue in this process (`maxQueuedPublishes`, default 20 000 events per topic).
 *
 * acks all, non-idempotent with bounded retries. kafkajs's idempotent mode needs unbounded retries
 * (a publish to an unreachable cluster would hang instead of answering 503) and has known sequence-number
 * problems under concurrent sends; a retried send may store an event twice, which at-least-once delivery
 * (same CloudEvent id) already allows.
 */
import { Kafka, type Admin, type Message, type Producer } from 'kafkajs';
import type { CloudEvent } from 'cloudevents';
import type { Clock, Timer } from '../../../src/clock.js';
import type { BrokerRef, Consumer, EventBackend, EventHandler, TriggerSubscription } from '../../types.js';
import { BackendClosedError, BackendUnavailableError, BatchTooLargeError, BrokerNotFoundError } from '../../errors.js';
import { brokerTopic, encodeEvent, triggerGroupId } from './codec.js';
import { KafkaSubscription } from './subscription.js';
import { kafkajsLogCreator, stderrLogger, type KafkaLogger } from './logger.js';
import { deleteGroup, deleteTopic, ensureTopic, newGroupStartOffsets, topicPartitions } from './admin.js';
import { ProduceBatcher, type ProduceBatcherStats, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_RECORDS, DEFAULT_MAX_QUEUED_PER_TOPIC } from './produce-batcher.js';
import type { EncodedRecord } from './codec.js';

export const DEFAULT_TOPIC_PARTITIONS = 10;
export const DEFAULT_REPLICATION_FACTOR = 3;
export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_KAFKA_CLOSE_TIMEOUT_MS = 30_000;
/** While the cluster is unreachable, how often a probe checks whether it is back. */
export const DEFAULT_HEALTH_PROBE_MS = 2_000;
export const DEFAULT_MAX_QUEUED_PER_PARTITION = 500;
export const DEFAULT_COMMIT_INTERVAL_MS = 100;
export const DEFAULT_LINGER_MS = 5;

export interface KafkaBackendOptions {
  /** Bootstrap servers, e.g. `WISP_KAFKA_BROKERS` split on commas. */
  brokers: string[];
  clientId?: string;
  clock: Clock;
  logger?: KafkaLogger;
  /** Partitions of a new broker topic (default 10, Knative's default broker config). */
  topicPartitions?: number;
  /** Replication of a new broker topic (default 3), clamped to the number of brokers in the cluster. */
  replicationFactor?: number;
  /** TCP connect timeout per broker connection (default 3 s). */
  connectTimeoutMs?: number;
  /** Timeout of one Kafka request, e.g. a produce waiting for acks (default 10 s). */
  requestTimeoutMs?: number;
  /** How long closing a consumer waits for its handlers in flight (on `clock`; default 30 s; 0 = no wait). */
  closeTimeoutMs?: number;
  /** Records buffered per partition before the partition is paused (default 500). */
  maxQueuedPerPartition?: number;
  /** Least time between two offset commits of a trigger's consumer (default 100 ms; 0 = back to back). */
  commitIntervalMs?: number;
  /** Events per produce request (default 1000). */
  maxBatchRecords?: number;
  /** Bytes per produce request (default 900 KiB). */
  maxBatchBytes?: number;
  /** Events waiting for a produce request per topic before publish answers 503 (default 20 000). */
  maxQueuedPublishes?: number;
  /**
   * Adaptive produce linger (default 5 ms, Kafka 4's linger.ms; 0 = none): a record waits only when the topic's
   * previous produce request started less than this long ago (produce-batcher.ts), so a lone event goes at once.
   */
  lingerMs?: number;
  /**
   * While unhealthy, the cluster is probed this often (default 2 s), so health turns ok again once Kafka is back
   * even when nobody publishes (the eventing reconciler asks nothing of a backend known to be down).
   */
  healthProbeMs?: number;
}

/** Per-broker topic settings (Knative's `default.topic.partitions` / `default.topic.replication.factor`). */
export interface KafkaTopicConfig {
  partitions?: number;
  replicationFactor?: number;
}

export interface KafkaBackendHealth {
  ok: boolean;
  reason?: string;
}

export class KafkaBackend implements EventBackend {
  readonly classes = Object.freeze(['Kafka'] as const);
  readonly #o: KafkaBackendOptions;
  readonly #logger: KafkaLogger;
  /** Producer and consumers: few, fast retries (an unreachable cluster answers 503 quickly). */
  readonly #kafka: Kafka;
  /**
   * Admin (control plane): patient retries, since a fresh topic's leaders and a group's coordinator take a
   * moment to settle (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER, NOT_COORDINATOR are retriable).
   */
  readonly #adminKafka: Kafka;
  #producer: Promise<Producer> | undefined;
  #admin: Promise<Admin> | undefined;
  /** Partitions of each topic published to, with the sticky partition of key-less records (see #sendBatch). */
  readonly #layouts = new Map<string, TopicLayout>();
  readonly #consumers = new Map<string, Set<KafkaSubscription>>();
  #health: KafkaBackendHealth = { ok: true };
  #probeTimer: Timer | undefined;
  #closed = false;
  /** The broker of each topic published to (names the broker in a failed batch's error). */
  readonly #topicBrokers = new Map<string, BrokerRef>();
  readonly #batcher: ProduceBatcher<EncodedRecord>;

  constructor(opts: KafkaBackendOptions) {
    this.#o = opts;
    this.#logger = opts.logger ?? stderrLogger;
    const base = {
      clientId: opts.clientId ?? 'wisp-broker',
      brokers: opts.brokers,
      connectionTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      logCreator: kafkajsLogCreator(this.#logger),
    };
    this.#kafka = new Kafka({ ...base, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
    this.#adminKafka = new Kafka({ ...base, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2_000 } });
    this.#batcher = new ProduceBatcher<EncodedRecord>({
      clock: opts.clock,
      send: (topic, messages) => this.#sendBatch(topic, messages),
      sizeOf: recordBytes,
      maxBatchRecords: opts.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
      maxBatchBytes: opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      maxQueuedPerTopic: opts.maxQueuedPublishes ?? DEFAULT_MAX_QUEUED_PER_TOPIC,
      lingerMs: opts.lingerMs ?? DEFAULT_LINGER_MS,
      queueFull: (topic, queued) => new BackendUnavailableError(this.#brokerName(topic), `${queued} events already wait for Kafka (produce queue full)`),
      tooLarge: (topic, records, limit) => new BatchTooLargeError(this.#brokerName(topic), records, limit, 'the Kafka produce queue'),
      closed: (topic) => new BackendClosedError(this.#brokerName(topic)),
    });
  }

  /** Produce requests sent so far and the events they carried (for tests and the bench). */
  produceStats(): ProduceBatcherStats {
    return this.#batcher.stats();
  }

  /** Whether the last Kafka operation reached the cluster (and why not). */
  health(): KafkaBackendHealth {
    return { ...this.#health };
  }

  async ensureBroker(broker: BrokerRef, config: KafkaTopicConfig = {}): Promise<void> {
    const topic = this.#topic(broker);
    const admin = await this.#adminFor(broker);
    await this.#io(broker, () =>
      ensureTopic(admin, topic, {
        partitions: config.partitions ?? this.#o.topicPartitions ?? DEFAULT_TOPIC_PARTITIONS,
        replicationFactor: config.replicationFactor ?? this.#o.replicationFactor ?? DEFAULT_REPLICATION_FACTOR,
      }),
    );
    this.#layouts.delete(topic); // partitions may have been added: the next publish reads the layout again
  }

  async deleteBroker(broker: BrokerRef): Promise<void> {
    const topic = brokerTopic(broker.namespace, broker.name);
    const subs = [...(this.#consumers.get(topic) ?? [])];
    this.#consumers.delete(topic);
    this.#layouts.delete(topic);
    await Promise.all(subs.map((s) => s.close()));
    const admin = await this.#adminFor(broker);
    await this.#io(broker, async () => {
      for (const s of subs) await deleteGroup(admin, s.groupId);
      await deleteTopic(admin, topic);
    });
  }

  publish(broker: BrokerRef, event: CloudEvent<unknown>): Promise<void> {
    return this.publishBatch(broker, [event]);
  }

  async publishBatch(broker: BrokerRef, events: readonly CloudEvent<unknown>[]): Promise<void> {
    const topic = this.#topic(broker);
    // Connect (or fail fast: an unreachable cluster answers 503 before anything is queued).
    await this.#producerFor(broker);
    if (!this.#layouts.has(topic)) await this.#readLayout(broker, topic);
    this.#topicBrokers.set(topic, broker);
    if (events.length === 0) return;
    await this.#batcher.addAll(topic, events.map((e) => encodeEvent(e)));
  }

  /** The topic's partitions; BrokerNotFoundError when the topic does not exist. */
  async #readLayout(broker: BrokerRef, topic: string): Promise<void> {
    const admin = await this.#adminFor(broker);
    const metadata = await this.#io(broker, () => topicPartitions(admin, topic));
    if (metadata === undefined || metadata.length === 0) throw new BrokerNotFoundError(broker.namespace, broker.name);
    const ids = metadata.map((p) => p.partitionId).sort((a, b) => a - b);
    this.#layouts.set(topic, { partitions: ids, next: Math.floor(Math.random() * ids.length) });
  }

  async subscribe(sub: TriggerSubscription, handle: EventHandler): Promise<Consumer> {
    const topic = this.#topic(sub.broker);
    const groupId = triggerGroupId(sub.trigger);
    const admin = await this.#adminFor(sub.broker);
    const startAt = await this.#io(sub.broker, () => newGroupStartOffsets(admin, groupId, topic));
    // A member that died without leaving (kill -9) holds its partitions until its session times out: 10 s (Kafka's
    // default group.min.session.timeout.ms is 6 s) instead of kafkajs's 30 s, so a restarted platform resumes sooner.
    const consumer = this.#kafka.consumer({
      groupId,
      maxWaitTimeInMs: 500,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    let set = this.#consumers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#consumers.set(topic, set);
    }
    const owner = set;
    const subscription = new KafkaSubscription(sub, handle, {
      consumer,
      topic,
      groupId,
      clock: this.#o.clock,
      logger: this.#logger,
      closeTimeoutMs: Math.max(0, this.#o.closeTimeoutMs ?? DEFAULT_KAFKA_CLOSE_TIMEOUT_MS),
      maxQueuedPerPartition: Math.max(1, this.#o.maxQueuedPerPartition ?? DEFAULT_MAX_QUEUED_PER_PARTITION),
      commitIntervalMs: Math.max(0, this.#o.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS),
      onClose: (s) => owner.delete(s),
    });
    owner.add(subscription);
    try {
      await this.#io(sub.broker, async () => {
        await consumer.connect();
        await subscription.start(startAt);
      });
    } catch (err) {
      await subscription.close();
      throw err;
    }
    return subscription;
  }

  async unsubscribe(sub: TriggerSubscription): Promise<void> {
    const topic = brokerTopic(sub.broker.namespace, sub.broker.name);
    const open = [...(this.#consumers.get(topic) ?? [])].filter((s) => s.trigger === sub.trigger);
    await Promise.all(open.map((s) => s.close()));
    const admin = await this.#adminFor(sub.broker);
    await this.#io(sub.broker, () => deleteGroup(admin, triggerGroupId(sub.trigger)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#probeTimer?.cancel();
    this.#probeTimer = undefined;
    const subs = [...this.#consumers.values()].flatMap((s) => [...s]);
    this.#consumers.clear();
    await Promise.all(subs.map((s) => s.close()));
    // Events already accepted go out (bounded by one request timeout); what is still queued then is rejected.
    await this.#batcher.close(this.#o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const producer = this.#producer;
    const admin = this.#admin;
    this.#producer = undefined;
    this.#admin = undefined;
    await Promise.all([
      producer?.then((p) => p.disconnect()).catch(() => undefined),
      admin?.then((a) => a.disconnect()).catch(() => undefined),
    ]);
  }

  #topic(broker: BrokerRef): string {
    if (this.#closed) throw new BackendClosedError(`${broker.namespace}/${broker.name}`);
    return brokerTopic(broker.namespace, broker.name);
  }

  /**
   * One produce request with every event queued for the topic (acks all). Key-less records all go to ONE partition
   * per request, the next one for the next request (the Java client's sticky partitioner, KIP-480): Kafka's cost is
   * per partition batch (append, index, acks bookkeeping), so a request of 64 events costs one append instead of ten
   * (kafkajs would spread them round robin). Keyed records keep kafkajs's default partitioner (murmur2 of the key,
   * as Java's), so events of one key keep their partition and order. Key-less records have no order to keep.
   */
  async #sendBatch(topic: string, records: EncodedRecord[]): Promise<void> {
    const broker = this.#topicBrokers.get(topic) ?? brokerRefOf(topic);
    const producer = await this.#producerFor(broker);
    const layout = this.#layouts.get(topic);
    let messages: Message[] = records;
    if (layout !== undefined) {
      const sticky = layout.partitions[layout.next % layout.partitions.length] as number;
      layout.next = (layout.next + 1) % layout.partitions.length;
      messages = records.map((r) => (r.key === null ? { ...r, partition: sticky } : r));
    }
    await this.#io(broker, () => producer.send({ topic, acks: -1, messages }));
  }

  #brokerName(topic: string): string {
    const b = this.#topicBrokers.get(topic) ?? brokerRefOf(topic);
    return `${b.namespace}/${b.name}`;
  }

  #producerFor(broker: BrokerRef): Promise<Producer> {
    this.#producer ??= this.#connect(() => this.#kafka.producer({ allowAutoTopicCreation: false }), () => (this.#producer = undefined));
    return this.#io(broker, () => this.#producer as Promise<Producer>);
  }

  #adminFor(broker: BrokerRef): Promise<Admin> {
    this.#admin ??= this.#connect(() => this.#adminKafka.admin(), () => (this.#admin = undefined));
    return this.#io(broker, () => this.#admin as Promise<Admin>);
  }

  /** Connects a client once; a failed connect is forgotten so the next call tries again. */
  async #connect<C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(make: () => C, forget: () => void): Promise<C> {
    const client = make();
    try {
      await client.connect();
      return client;
    } catch (err) {
      forget();
      await client.disconnect().catch(() => undefined);
      throw err;
    }
  }

  /** Runs one Kafka operation; kafkajs failures become a retriable BackendUnavailableError and mark health. */
  async #io<T>(broker: BrokerRef, op: () => Promise<T>): Promise<T> {
    try {
      const v = await op();
      this.#health = { ok: true };
      return v;
    } catch (err) {
      if (err instanceof BrokerNotFoundError || err instanceof BackendClosedError) throw err;
      const why = err instanceof Error ? err.message : String(err);
      if (isKafkaError(err)) {
        this.#health = { ok: false, reason: why };
        this.#scheduleProbe();
        throw new BackendUnavailableError(`${broker.namespace}/${broker.name}`, why, { cause: err });
      }
      throw err;
    }
  }

  /** One probe of the cluster after `healthProbeMs`, unless one is pending or the backend closed. */
  #scheduleProbe(): void {
    if (this.#closed || this.#probeTimer !== undefined) return;
    this.#probeTimer = this.#o.clock.setTimeout(() => {
      this.#probeTimer = undefined;
      void this.#probe();
    }, this.#o.healthProbeMs ?? DEFAULT_HEALTH_PROBE_MS);
  }

  /** Asks the cluster for its brokers: success marks health ok; a failure (through #io) schedules the next probe. */
  async #probe(): Promise<void> {
    if (this.#closed || this.#health.ok) return;
    const probe: BrokerRef = { namespace: '-', name: 'health-probe' };
    try {
      const admin = await this.#adminFor(probe);
      await this.#io(probe, () => admin.describeCluster());
    } catch {
      // #io recorded why and scheduled the next probe (a non-Kafka error: the next failing operation will).
    }
  }
}

/** A topic's partition ids and the sticky partition of the next request's key-less records. */
interface TopicLayout {
  partitions: number[];
  next: number;
}

/** Bytes a record adds to a produce request (value, key, headers, plus per-record framing). */
function recordBytes(r: EncodedRecord): number {
  let n = 32 + (r.value?.length ?? 0) + (r.key === null ? 0 : Buffer.byteLength(r.key));
  for (const [k, v] of Object.entries(r.headers)) n += 4 + k.length + Buffer.byteLength(v);
  return n;
}

/** A topic not seen by publish (never the case in practice): its name stands in for the broker. */
function brokerRefOf(topic: string): BrokerRef {
  return { namespace: '-', name: topic };
}

function isKafkaError(err: unknown): boolean {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}
