/**
 * Runs one KafkaSource: a kafkajs consumer in the source's consumer group over its topics, each record turned into
 * a CloudEvent (event.ts) and sent to the sink; a partition's records go one at a time, in offset order.
 *
 * At-least-once: offsets are committed only for records the sink accepted (2xx) — or answered with a permanent
 * error (4xx other than 404/408/409/429: retrying cannot help; the record is reported through `onError` and
 * skipped, as Knative does without a dead-letter sink). A sink that is down or failing (5xx, 404, 429, timeouts,
 * network errors) is retried with exponential back-off without end; the record is never skipped, its partition's
 * commit point stays below it, and the partition is paused once `maxQueuedPerPartition` records wait behind it.
 * Stopping commits what was delivered and leaves the group; a record in flight then comes again after a restart
 * (the in-flight window: at most one record per partition, plus those delivered since the last commit if the
 * process is killed).
 *
 * Connecting: the runner checks the topics exist and joins the group in the background, retrying with back-off;
 * `health()` says where it stands (`Connecting`, `KafkaUnreachable`, `TopicsNotFound`, `SinkUnavailable`, or
 * running) and `requeue` is called whenever that changes, so the reconciler writes the source's status.
 *
 * Why `eachBatch` only enqueues: kafkajs fetches a broker's next batch only after every batch of the previous
 * fetch returned, so awaiting a slow sink inside it would stall every partition (see the Kafka backend's
 * subscription.ts). A new group with `initialOffset: latest` starts at the end offsets read when the runner
 * connected (seeked on the first join and committed before any record is delivered), so records produced after
 * the source became Ready are never skipped.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Sender } from '../../../broker/delivery/index.js';
import { kafkajsLogCreator } from '../../../broker/backends/kafka/logger.js';
import type { Clock } from '../../clock.js';
import { deliverToSink } from '../deliver.js';
import { CancellableWaits } from '../waits.js';
import type { SourceDeliveryError } from '../errors.js';
import type { DeployState } from '../status.js';
import { KafkaUnreachableError, TopicsNotFoundError } from './errors.js';
import { recordToEvent, type KafkaRecord } from './event.js';
import { PartitionWork, type Taken, type TopicPartition } from './partitions.js';

/** What a runner needs of a KafkaSource, resolved: the sink is a URL, the group and offset defaulted. */
export interface KafkaRunSpec {
  namespace: string;
  name: string;
  bootstrapServers: string[];
  topics: string[];
  consumerGroup: string;
  initialOffset: 'earliest' | 'latest';
  sinkUri: string;
  extensions?: Record<string, string>;
}

export interface KafkaSourceDeliveryPolicy {
  /** Base of the exponential back-off between attempts at one record (k-th retry waits base × 2^k, capped). Default 200 ms. */
  backoffDelayMs: number;
  /** Longest wait between two attempts at one record. Default 10 s. */
  maxBackoffMs: number;
  /** Per-attempt timeout of a delivery. Default 10 s. */
  timeoutMs: number;
  /** Records queued per partition before it is paused. Default 100. */
  maxQueuedPerPartition: number;
  /** First wait before connecting again after a failure (doubles up to `maxReconnectDelayMs`). Default 1 s. */
  reconnectDelayMs: number;
  /** Default 15 s. */
  maxReconnectDelayMs: number;
  /** TCP connect timeout per Kafka connection. Default 3 s. */
  connectTimeoutMs: number;
}

export const DEFAULT_KAFKA_SOURCE_DELIVERY: Readonly<KafkaSourceDeliveryPolicy> = Object.freeze({
  backoffDelayMs: 200,
  maxBackoffMs: 10_000,
  timeoutMs: 10_000,
  maxQueuedPerPartition: 100,
  reconnectDelayMs: 1_000,
  maxReconnectDelayMs: 15_000,
  connectTimeoutMs: 3_000,
});

/** What happened to one record, for observers (tests, logs, metrics). */
export type KafkaSourceOutcome =
  | { kind: 'delivered'; topic: string; partition: number; offset: number; id: string; attempts: number; status: number }
  | { kind: 'failed'; topic: string; partition: number; offset: number; id: string; attempts: number; error: SourceDeliveryError }
  | { kind: 'retrying'; topic: string; partition: number; offset: number; id: string; attempts: number; error: SourceDeliveryError };

export interface KafkaSourceRunnerOptions {
  spec: KafkaRunSpec;
  clock: Clock;
  sender: Sender;
  delivery?: Partial<KafkaSourceDeliveryPolicy>;
  /** kafkajs's own log lines (debug). */
  debug?: (msg: string) => void;
  onOutcome?: (outcome: KafkaSourceOutcome) => void;
  /** Records given up on, a sink that keeps failing (first failure, then every 10th attempt), Kafka unreachable. */
  onError?: (err: SourceDeliveryError | KafkaUnreachableError | TopicsNotFoundError) => void;
  /** Called whenever `health()` changes. */
  requeue?: () => void;
}

type RunnerState = 'new' | 'running' | 'stopped';

const CONNECTING: DeployState = Object.freeze({ kind: 'pending', reason: 'Connecting', message: 'Connecting to Kafka.' });
const RUNNING: DeployState = Object.freeze({ kind: 'running' });

export class KafkaSourceRunner {
  readonly #o: KafkaSourceRunnerOptions;
  readonly #policy: KafkaSourceDeliveryPolicy;
  readonly #label: string;
  /** Made on first connect: kafkajs is imported only once a KafkaSource runs (the default `wisp up` never loads it). */
  #kafka: Kafka | undefined;
  #state: RunnerState = 'new';
  #health: DeployState = CONNECTING;
  /** Sink failing: the Deployed state shown while the consumer itself is fine. */
  #sinkProblem: DeployState | undefined;
  #loop: Promise<void> | undefined;
  #consumer: Consumer | undefined;
  #admin: Admin | undefined;
  #work = new PartitionWork<KafkaRecord>({ maxQueued: DEFAULT_KAFKA_SOURCE_DELIVERY.maxQueuedPerPartition });
  /** Deliveries start only once the group's start offsets are committed. */
  #consuming = false;
  /** The consumer is being torn down (crash or stop): deliveries in flight end after their current attempt. */
  #draining = false;
  #inFlight = 0;
  #committing: Promise<void> | undefined;
  #commitAgain = false;
  readonly #waits: CancellableWaits;
  readonly #idleWaiters: Array<() => void> = [];
  #crashed: ((err: Error) => void) | undefined;
  #delivered = 0;

  constructor(options: KafkaSourceRunnerOptions) {
    this.#o = options;
    this.#waits = new CancellableWaits(options.clock);
    this.#policy = { ...DEFAULT_KAFKA_SOURCE_DELIVERY, ...options.delivery };
    this.#label = `KafkaSource ${options.spec.namespace}/${options.spec.name}`;
    this.#work = new PartitionWork({ maxQueued: this.#policy.maxQueuedPerPartition });
  }

  async #client(): Promise<Kafka> {
    if (this.#kafka !== undefined) return this.#kafka;
    const { Kafka } = await import('kafkajs');
    const debug = this.#o.debug;
    this.#kafka ??= new Kafka({
      clientId: `wisp-kafkasource-${this.#o.spec.namespace}-${this.#o.spec.name}`,
      brokers: this.#o.spec.bootstrapServers,
      connectionTimeout: this.#policy.connectTimeoutMs,
      requestTimeout: 10_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
      logCreator: kafkajsLogCreator({ ...(debug !== undefined ? { debug } : {}), warn: () => undefined, error: () => undefined }),
    });
    return this.#kafka;
  }

  get spec(): KafkaRunSpec {
    return this.#o.spec;
  }

  /** Records accepted by the sink so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /** The `Deployed` state: connecting, Kafka unreachable, topics missing, sink failing, or running. */
  health(): DeployState {
    return this.#health.kind === 'running' && this.#sinkProblem !== undefined ? this.#sinkProblem : this.#health;
  }

  /** Connects and consumes in the background (retrying until stop). */
  start(): void {
    if (this.#state !== 'new') throw new Error(`${this.#label}: runner cannot start when ${this.#state}`);
    this.#state = 'running';
    this.#loop = this.#run();
  }

  /**
   * Stops fetching, abandons queued records and retry waits, lets a delivery on the wire finish (bounded by its
   * timeout), commits what the sink accepted and leaves the group.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return this.#loop;
    const wasNew = this.#state === 'new';
    this.#state = 'stopped';
    if (wasNew) return;
    this.#work.clearQueues();
    this.#waits.cancelAll();
    this.#crashed?.(new Error('stopped'));
    await this.#loop;
  }

  #setHealth(h: DeployState): void {
    const before = this.health();
    this.#health = h;
    if (JSON.stringify(before) !== JSON.stringify(this.health())) this.#o.requeue?.();
  }

  #setSinkProblem(p: DeployState | undefined): void {
    const before = this.health();
    this.#sinkProblem = p;
    if (JSON.stringify(before) !== JSON.stringify(this.health())) this.#o.requeue?.();
  }

  /** Connect, consume until the consumer crashes or the runner stops, clean up; again after a back-off. */
  async #run(): Promise<void> {
    let delay = this.#policy.reconnectDelayMs;
    while (this.#state === 'running') {
      let failure: KafkaUnreachableError | TopicsNotFoundError | undefined;
      try {
        const crashed = new Promise<Error>((resolve) => (this.#crashed = resolve));
        await this.#connect();
        if (this.#state !== 'running') break;
        this.#setHealth(RUNNING);
        delay = this.#policy.reconnectDelayMs;
        const err = await crashed;
        if (this.#state === 'running') failure = this.#unreachable(err);
      } catch (err) {
        failure = err instanceof TopicsNotFoundError || err instanceof KafkaUnreachableError ? err : this.#unreachable(err);
      }
      await this.#disconnect();
      if (this.#state !== 'running') break;
      if (failure !== undefined) {
        const reason = failure instanceof TopicsNotFoundError ? 'TopicsNotFound' : 'KafkaUnreachable';
        this.#setHealth({ kind: 'not-running', reason, message: `${failure.message}; retrying` });
        this.#o.onError?.(failure);
      }
      await this.#wait(delay);
      delay = Math.min(delay * 2, this.#policy.maxReconnectDelayMs);
    }
    await this.#disconnect();
  }

  #unreachable(err: unknown): KafkaUnreachableError {
    const why = err instanceof Error ? err.message : String(err);
    return new KafkaUnreachableError({ source: this.#label, servers: this.#o.spec.bootstrapServers, why, cause: err });
  }

  /** Checks the topics, reads where a new group starts, joins the group and commits that start. */
  async #connect(): Promise<void> {
    const { spec } = this.#o;
    const kafka = await this.#client();
    const admin = kafka.admin();
    this.#admin = admin;
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = spec.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) throw new TopicsNotFoundError({ source: this.#label, topics: missing });
    const startAt = spec.initialOffset === 'latest' ? await this.#newGroupStart(admin) : [];
    await admin.disconnect();
    this.#admin = undefined;
    if (this.#state !== 'running') return;

    // 10 s session (Kafka's minimum default is 6 s): a killed platform's member lets go of its partitions soon.
    const consumer = kafka.consumer({
      groupId: spec.consumerGroup,
      maxWaitTimeInMs: 500,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
      // A crash ends in #run's loop (status KafkaUnreachable, reconnect with back-off) instead of kafkajs's own restart.
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000, restartOnFailure: async () => false },
    });
    this.#consumer = consumer;
    this.#consuming = false;
    this.#work = new PartitionWork({ maxQueued: this.#policy.maxQueuedPerPartition });
    let seekPending = startAt.length > 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.#newEpoch();
      if (!seekPending) return;
      seekPending = false;
      for (const p of startAt) consumer.seek({ topic: p.topic, partition: p.partition, offset: String(p.offset) });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const payload = e.payload as { error: Error; restart: boolean };
      if (!payload.restart) this.#crashed?.(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: spec.topics, fromBeginning: spec.initialOffset === 'earliest' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => this.#onBatch(payload),
    });
    if (startAt.length > 0) await consumer.commitOffsets(startAt.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) })));
    this.#consuming = true;
    this.#pump();
  }

  /** Partitions without a committed offset for the group, with their end offset now (`latest`). */
  async #newGroupStart(admin: Admin): Promise<Array<TopicPartition & { offset: number }>> {
    const { spec } = this.#o;
    const committed = await admin.fetchOffsets({ groupId: spec.consumerGroup, topics: spec.topics });
    const out: Array<TopicPartition & { offset: number }> = [];
    for (const topic of spec.topics) {
      const parts = committed.find((t) => t.topic === topic)?.partitions ?? [];
      const ends = await admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const c = parts.find((p) => p.partition === end.partition);
        if (c === undefined || Number(c.offset) < 0) out.push({ topic, partition: end.partition, offset: Number(end.high) });
      }
    }
    return out;
  }

  /** A (re)join: records queued for the old assignment are dropped; kafkajs fetches again from the committed offsets. */
  #newEpoch(): void {
    const paused = this.#work.paused();
    this.#work.clearQueues();
    this.#work = new PartitionWork({ maxQueued: this.#policy.maxQueuedPerPartition });
    if (paused.length > 0 && this.#state === 'running') this.#resume(paused);
  }

  async #onBatch({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.#state !== 'running') return;
    const records: Array<{ offset: number; record: KafkaRecord }> = [];
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break;
      records.push({
        offset: Number(m.offset),
        record: { topic: batch.topic, partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value, headers: m.headers ?? {} },
      });
      resolveOffset(m.offset);
    }
    if (this.#work.add({ topic: batch.topic, partition: batch.partition }, records)) {
      this.#consumer?.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
    }
    this.#pump();
  }

  #pump(): void {
    if (!this.#consuming) return;
    for (let t = this.#delivering() ? this.#work.take() : undefined; t !== undefined; t = this.#delivering() ? this.#work.take() : undefined) {
      this.#inFlight++;
      void this.#deliver(this.#work, t);
    }
  }

  /** Delivers one record until the sink accepts it, answers a permanent error, or the runner stops. */
  async #deliver(work: PartitionWork<KafkaRecord>, t: Taken<KafkaRecord>): Promise<void> {
    const event = recordToEvent(this.#o.spec, t.record);
    const where = { topic: t.topic, partition: t.partition, offset: t.offset, id: event.id };
    let finished = false;
    for (let attempt = 1; ; attempt++) {
      const r = await deliverToSink({
        sender: this.#o.sender,
        sinkUri: this.#o.spec.sinkUri,
        event,
        policy: { retry: 0, backoffDelayMs: this.#policy.backoffDelayMs, timeoutMs: this.#policy.timeoutMs },
        label: `${this.#label} (${t.topic}/${t.partition}@${t.offset})`,
        isRunning: () => this.#delivering(),
        wait: (ms) => this.#wait(ms),
      });
      if (r.kind === 'delivered') {
        this.#delivered++;
        this.#o.onOutcome?.({ kind: 'delivered', ...where, attempts: attempt, status: r.status });
        this.#setSinkProblem(undefined);
        finished = true;
        break;
      }
      if (r.stopped) break;
      if (!r.error.retriable) {
        // Retrying cannot help (400, 401, 403, 413...): reported and skipped, as Knative does without a dead-letter sink.
        this.#o.onOutcome?.({ kind: 'failed', ...where, attempts: attempt, error: r.error });
        this.#o.onError?.(r.error);
        finished = true;
        break;
      }
      this.#o.onOutcome?.({ kind: 'retrying', ...where, attempts: attempt, error: r.error });
      if (attempt === 1 || attempt % 10 === 0) this.#o.onError?.(r.error);
      this.#setSinkProblem({
        kind: 'not-running',
        reason: 'SinkUnavailable',
        message: `the sink ${this.#o.spec.sinkUri} failed ${attempt} time(s) on ${t.topic}/${t.partition}@${t.offset} (last: ${r.error.message.split(': ').pop() ?? ''}); retrying, the partition waits`,
      });
      const backoff = Math.min(this.#policy.backoffDelayMs * 2 ** Math.min(attempt, 30), this.#policy.maxBackoffMs);
      if (!(await this.#wait(backoff)) || !this.#delivering()) break;
    }
    this.#inFlight--;
    // A delivery of an older epoch (before a rebalance) does not commit: its records are fetched again.
    if (work === this.#work) {
      if (work.finish(t, finished) && this.#state === 'running') this.#resume([{ topic: t.topic, partition: t.partition }]);
      if (finished) this.#commitSoon();
    }
    if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    this.#pump();
  }

  /** Deliveries go on while the runner runs and its consumer is not being torn down. */
  #delivering(): boolean {
    return this.#state === 'running' && !this.#draining;
  }

  #resume(parts: TopicPartition[]): void {
    try {
      for (const p of parts) this.#consumer?.resume([{ topic: p.topic, partitions: [p.partition] }]);
    } catch {
      // The consumer is not running (a reconnect is under way): it fetches from the committed offsets anyway.
    }
  }

  /** One commit request at a time; finishes meanwhile fold into the next one. */
  #commitSoon(): void {
    if (this.#committing !== undefined) {
      this.#commitAgain = true;
      return;
    }
    this.#commitAgain = false;
    this.#committing = this.#commitOnce().finally(() => {
      this.#committing = undefined;
      if (this.#commitAgain) this.#commitSoon();
    });
  }

  async #commitOnce(): Promise<void> {
    const work = this.#work;
    const consumer = this.#consumer;
    const due = work.toCommit();
    if (due.length === 0 || consumer === undefined) return;
    try {
      await consumer.commitOffsets(due.map((d) => ({ topic: d.topic, partition: d.partition, offset: String(d.offset) })));
      work.committed(due);
    } catch (err) {
      // A rebalance or a lost connection: the records stay uncommitted and come again (at-least-once).
      this.#o.debug?.(`${this.#label}: commit failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Waits for deliveries on the wire, commits what they finished, then leaves the group. */
  async #disconnect(): Promise<void> {
    const consumer = this.#consumer;
    const admin = this.#admin;
    this.#admin = undefined;
    this.#crashed = undefined;
    if (consumer !== undefined) {
      try {
        consumer.pause(this.#o.spec.topics.map((topic) => ({ topic })));
      } catch {
        // Never ran: nothing is fetched.
      }
      this.#work.clearQueues();
      this.#draining = true;
      this.#waits.cancelAll();
      if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      await this.#committing;
      this.#commitSoon();
      await this.#committing;
      this.#consumer = undefined;
      this.#consuming = false;
      this.#draining = false;
      await consumer.disconnect().catch(() => undefined);
    }
    await admin?.disconnect().catch(() => undefined);
  }

  /** Resolves true after `ms` on the clock, or false at once when the runner stops meanwhile. */
  #wait(ms: number): Promise<boolean> {
    return this.#state === 'running' ? this.#waits.wait(ms) : Promise.resolve(false);
  }
}
