/**
 * The Redis broker class: BullMQ queues on Redis, at-least-once.
 *
 * - One BullMQ queue per (broker, Trigger) subscription (keys.ts documents every key). A Trigger's subscription is DURABLE:
 *   `subscribe` adds the trigger to the broker's trigger hash in Redis, and from then on every publish stores the
 *   event in its queue whether or not a consumer runs (a restarted platform, or another process sharing the
 *   prefix, consumes what accumulated). `Consumer.close()` stops the worker only; `unsubscribe` removes the
 *   trigger from the hash and obliterates its queue; `deleteBroker` does that for every trigger of the broker.
 * - Fan-out at ingress. A multi-event request (`publishBatch`, cloudevents-batch) is all or nothing and makes two
 *   round trips. (1) One EVALSHA (backlog.ts) checks the broker exists and returns its trigger hash with each queue's waiting
 *   events, counted in Redis; if any queue lacks room for the whole batch under the broker's backlog limit
 *   (BrokerSettings `maxBacklog`, default 10 000) the publish rejects with BackendFullError (503 + Retry-After)
 *   having stored nothing. (2) Every job (events × triggers) goes in ONE MULTI/EXEC, through BullMQ's public
 *   FlowProducer.addBulk ("atomic: either it fails and no jobs are added, or all are"): Redis runs all of it or
 *   none. BullMQ's addBulk does not
 *   surface an error of one script inside the EXEC (only a command Redis refuses while queueing, e.g. OOM, aborts
 *   the whole EXEC): such a script error needs keys of the wrong type under the prefix, i.e. a foreign writer.
 *   The residual case: a connection lost AFTER Redis ran the EXEC but
 *   before its reply arrived answers 503 although every job was stored; the producer's retry then duplicates the
 *   whole batch (at-least-once, same ids), never a part of it. No trigger: nothing is stored (as in Knative).
 *   A publish that read the hash just before a concurrent `unsubscribe` adds its event to the forgotten queue
 *   (per-subscription queue names, see keys.ts): never delivered, but that job's keys stay behind.
 * - Single events (`publish`, every binary/structured request: the hot path) are micro-batched per broker
 *   (publish-batcher.ts): the events of one loop turn (and, while `maxPublishesInFlight` stores of the broker are
 *   in flight, all that arrive until one settles) share ONE backlog count and ONE Queue.addBulk per Trigger queue
 *   (BullMQ 6: a pipeline of addStandardJob scripts, one write, one round trip). Each event is admitted on its own
 *   (one that finds its Trigger full gets its own 503, the rest are stored); each job is atomic by itself and a
 *   single event is never half stored in one queue, but across queues and events a Redis failure mid-pipeline can
 *   store some of them: every request of that batch then answers 503 and the producers' retries duplicate what was
 *   stored (at-least-once, same ids), as a single event's partial fan-out over triggers always could. Measured
 *   (scratch bench, 64 concurrent publishers, 1 Trigger, no consumer, loaded 2-core machine): 145 → 55-67 µs of
 *   Wisp CPU per publish, 16 → 9 Redis commands per event, 35 → 25 µs of Redis CPU per event.
 * - Cost: the count rides in the round trip the fan-out always needed (it replaces SISMEMBER + HVALS), so the cap
 *   adds no round trip, only a few O(1) reads per queue inside Redis; the MULTI replaces a Promise.all of Queue.add
 *   on the auto-pipelining connection, which also left in one write and came back in one round trip (earlier
 *   measurement, 10 triggers: Promise.all auto-pipelined ~1 850 events/s, one MULTI auto-pipelined ~1 960 /s).
 */
import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, type FlowJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CloudEvent } from 'cloudevents';
import type { Clock } from '../../../src/clock.js';
import { BackendClosedError, BrokerNotFoundError } from '../../errors.js';
import { DEFAULT_MAX_BACKLOG, type BrokerRef, type BrokerSettings, type Consumer, type EventBackend, type EventHandler, type TriggerBacklog, type TriggerSubscription } from '../../types.js';
import { BACKLOG_SCRIPT, checkRoom, parseBacklogReply, Reservations, type QueueBacklog } from './backlog.js';
import { EVENT_JOB_NAME, encodeEvent, type EventJobData } from './codec.js';
import {
  ConnectionWatch,
  createProducerClient,
  createWorkerClient,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REDIS_URL,
  describeError,
  type ConnectionOptions,
} from './connection.js';
import { RedisConsumer, REMOVE_ON_FAIL, type Logger, type WorkerTuning } from './consumer.js';
import { brokerId, DEFAULT_PREFIX, queueName, redisKeys, type RedisKeys } from './keys.js';
import { PublishBatcher, type PublishBatcherStats } from './publish-batcher.js';

/** Tuning defaults; see consumer.ts for what each means. */
export const REDIS_BACKEND_DEFAULTS = Object.freeze({
  url: DEFAULT_REDIS_URL,
  prefix: DEFAULT_PREFIX,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  commandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
  /** BullMQ's default; renewed every 15 s while the worker lives, so a slow handler keeps its job. */
  lockDurationMs: 30_000,
  /** A dead worker's job is back in wait at most lockDuration + stalledInterval (35 s) after the crash. */
  stalledIntervalMs: 5_000,
  /** A job whose worker died this many times is failed (kept, bounded, in the failed set) instead of looping. */
  maxStalledCount: 10,
  closeTimeoutMs: 30_000,
  /** Entries kept in each queue's BullMQ event stream (BullMQ's default, 10 000, is memory for nothing here). */
  eventsStreamMaxLen: 100,
  /** Events waiting per Trigger before publish answers 503 (brokers without their own `maxBacklog`). */
  maxBacklog: DEFAULT_MAX_BACKLOG,
  /** Single-event publishes stored together at most (those of one loop turn; see publish-batcher.ts). */
  maxPublishBatch: 256,
  /**
   * Micro-batches of one broker being stored at once; the next waits for one to settle (group commit, see
   * publish-batcher.ts). 2, not 1: a store is two round trips (count, then add), so with 2 the count of one overlaps
   * the add of the other and an event waits at most for the rest of one store; measured side by side at 700 ev/s on
   * the loaded 2-core machine, 1 cut Wisp's CPU per event most but raised p50/p99 several times, 2 cut CPU by
   * 0-22 % with p99 within the noise of unlimited (scratch A/B, 3 rounds).
   */
  maxPublishesInFlight: 2,
});

/** Every event job's options (FlowProducer jobs do not take a Queue's defaultJobOptions). */
const JOB_OPTIONS = Object.freeze({
  removeOnComplete: true,
  removeOnFail: REMOVE_ON_FAIL,
  // `attempts`: only a Redis error inside the processor (e.g. while moving a retried job to delayed) throws;
  // BullMQ then retries the job after 1 s instead of failing it, so a hiccup loses no event.
  attempts: 1_000,
  backoff: { type: 'fixed', delay: 1_000 },
});

/** The producer connection with the backlog script defined on it. */
type BacklogClient = Redis & { wispBacklog(brokersKey: string, triggersKey: string, brokerId: string, bullPrefix: string): Promise<unknown> };

export interface RedisBackendOptions {
  /** Default: `WISP_REDIS_URL`, else redis://127.0.0.1:6379. */
  url?: string;
  /** Per-installation key prefix (default `wisp`); every key lives under `<prefix>:`. */
  prefix?: string;
  clock: Clock;
  logger?: Logger;
  /** How long an operation waits for the first connection (default 2 s). */
  connectTimeoutMs?: number;
  /** How long a Redis command may take before the operation fails as unavailable (default 5 s). */
  commandTimeoutMs?: number;
  /** How long Consumer.close()/close() wait for handlers in flight (default 30 s). */
  closeTimeoutMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  /** Events waiting per Trigger before publish rejects, for brokers without their own `maxBacklog` (default 10 000). */
  maxBacklog?: number;
  /** Single-event publishes of one loop turn stored together at most (default 256). */
  maxPublishBatch?: number;
  /** Micro-batches of one broker being stored at once before the next waits (default 2; see publish-batcher.ts). */
  maxPublishesInFlight?: number;
}

const QUIET_LOGGER: Logger = {
  info: () => undefined,
  warn: (m) => process.stderr.write(`wisp: ${m}\n`),
};

export class RedisBackend implements EventBackend {
  readonly classes = Object.freeze(['Redis'] as const);
  readonly keys: RedisKeys;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #tuning: WorkerTuning;
  readonly #producer: BacklogClient;
  readonly #workerClient: Redis;
  readonly #maxBacklog: number;
  /** Backlog limit of each broker ensured by this process. */
  readonly #limits = new Map<string, number>();
  readonly #reserved = new Reservations();
  #flow: FlowProducer | undefined;
  readonly #producerWatch: ConnectionWatch;
  readonly #workerWatch: ConnectionWatch;
  readonly #queues = new Map<string, Queue<EventJobData>>();
  /** Running consumers by queue name. */
  readonly #consumers = new Map<string, Set<RedisConsumer>>();
  /** Single-event publishes of one loop turn, per broker. */
  readonly #batcher: PublishBatcher<BrokerRef, EventJobData>;
  #closing: Promise<void> | undefined;

  constructor(opts: RedisBackendOptions) {
    const d = REDIS_BACKEND_DEFAULTS;
    this.#clock = opts.clock;
    this.#logger = opts.logger ?? QUIET_LOGGER;
    this.keys = redisKeys(opts.prefix ?? d.prefix);
    this.#tuning = {
      lockDurationMs: opts.lockDurationMs ?? d.lockDurationMs,
      stalledIntervalMs: opts.stalledIntervalMs ?? d.stalledIntervalMs,
      maxStalledCount: opts.maxStalledCount ?? d.maxStalledCount,
      closeTimeoutMs: Math.max(0, opts.closeTimeoutMs ?? d.closeTimeoutMs),
    };
    const conn: ConnectionOptions = {
      url: opts.url ?? process.env['WISP_REDIS_URL'] ?? d.url,
      clock: opts.clock,
      connectTimeoutMs: opts.connectTimeoutMs ?? d.connectTimeoutMs,
      commandTimeoutMs: opts.commandTimeoutMs ?? d.commandTimeoutMs,
    };
    this.#maxBacklog = Math.max(1, Math.floor(opts.maxBacklog ?? d.maxBacklog));
    this.#producer = createProducerClient(conn) as BacklogClient;
    this.#producer.defineCommand('wispBacklog', { numberOfKeys: 2, lua: BACKLOG_SCRIPT });
    this.#workerClient = createWorkerClient(conn);
    const log = (m: string): void => this.#logger.warn(`redis broker: ${m}`);
    this.#producerWatch = new ConnectionWatch(this.#producer, conn, log);
    this.#workerWatch = new ConnectionWatch(this.#workerClient, conn, () => undefined);
    this.#batcher = new PublishBatcher({
      maxBatch: Math.max(1, Math.floor(opts.maxPublishBatch ?? d.maxPublishBatch)),
      maxInFlightPerKey: opts.maxPublishesInFlight ?? d.maxPublishesInFlight,
      flush: (broker, payloads) => this.#storeSingles(broker, payloads),
    });
  }

  /** Micro-batches of single-event publishes so far (for tests and the bench). */
  publishStats(): PublishBatcherStats {
    return this.#batcher.stats();
  }

  /** Connection state, for the platform to report on Redis-class Brokers. */
  health(): { ok: boolean; reason?: string } {
    const p = this.#producerWatch.health();
    return p.ok ? this.#workerWatch.health() : p;
  }

  async ensureBroker(broker: BrokerRef, settings: BrokerSettings = {}): Promise<void> {
    this.#assertOpen(broker);
    await this.#producerWatch.run(brokerId(broker), 'ensureBroker', () => this.#producer.sadd(this.keys.brokers, brokerId(broker)));
    this.#limits.set(brokerId(broker), Math.max(1, Math.floor(settings.maxBacklog ?? this.#maxBacklog)));
  }

  async deleteBroker(broker: BrokerRef): Promise<void> {
    const id = brokerId(broker);
    this.#limits.delete(id);
    const mine = [...this.#consumers.entries()].filter(([k]) => k.startsWith(`${id}\n`));
    await Promise.all(mine.flatMap(([, set]) => [...set].map((c) => c.close())));
    await this.#producerWatch.run(id, 'deleteBroker', async () => {
      const queues = await this.#producer.hvals(this.keys.triggers(broker));
      await Promise.all(queues.map((q) => this.#obliterate(q)));
      await this.#producer.del(this.keys.triggers(broker));
      await this.#producer.srem(this.keys.brokers, id);
    });
  }

  /** One event: joins this turn's micro-batch of the broker (publish-batcher.ts); resolves once Redis stored it. */
  publish(broker: BrokerRef, event: CloudEvent<unknown>): Promise<void> {
    try {
      this.#assertOpen(broker);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#batcher.add(brokerId(broker), broker, encodeEvent(event));
  }

  /** A multi-event request (cloudevents-batch): its own count and one MULTI, all stored or none. */
  async publishBatch(broker: BrokerRef, events: readonly CloudEvent<unknown>[]): Promise<void> {
    this.#assertOpen(broker);
    if (events.length === 1) return this.publish(broker, events[0] as CloudEvent<unknown>);
    const id = brokerId(broker);
    const { known, queues } = await this.#countBacklog(broker);
    if (!known) throw new BrokerNotFoundError(broker.namespace, broker.name);
    if (queues.length === 0 || events.length === 0) return;
    // Check and reserve in one synchronous step: a concurrent publish of this process sees the reservation.
    checkRoom(id, queues, (q) => this.#reserved.of(q), events.length, this.#limitOf(id));
    const names = queues.map((q) => q.queue);
    this.#reserved.take(names, events.length);
    const payloads = events.map((e) => encodeEvent(e));
    try {
      await this.#addAll(id, names, payloads);
    } finally {
      this.#reserved.release(names, events.length);
    }
  }

  /**
   * Stores a micro-batch of single events (each its own request): one backlog count for all, then each event is
   * admitted in arrival order while its Triggers have room (an event that finds none gets its own BackendFullError,
   * the others go on), then one Queue.addBulk per Trigger queue. addBulk is a pipeline (one write, one round trip);
   * each job is atomic by itself, the batch is not: a Redis failure mid-way may store some events (for some
   * triggers) and fails every request of the batch (503): the producers' retries duplicate those (at-least-once,
   * same ids), as a single event's partial fan-out did before.
   */
  async #storeSingles(broker: BrokerRef, payloads: readonly EventJobData[]): Promise<Array<Error | undefined>> {
    const id = brokerId(broker);
    const { known, queues } = await this.#countBacklog(broker);
    if (!known) throw new BrokerNotFoundError(broker.namespace, broker.name);
    const outcomes: Array<Error | undefined> = payloads.map(() => undefined);
    if (queues.length === 0) return outcomes;
    const limit = this.#limitOf(id);
    const names = queues.map((q) => q.queue);
    const admitted: EventJobData[] = [];
    payloads.forEach((payload, i) => {
      try {
        checkRoom(id, queues, (q) => this.#reserved.of(q), 1, limit);
      } catch (err) {
        outcomes[i] = err as Error;
        return;
      }
      this.#reserved.take(names, 1);
      admitted.push(payload);
    });
    if (admitted.length === 0) return outcomes;
    try {
      await this.#addEach(id, names, admitted);
    } finally {
      this.#reserved.release(names, admitted.length);
    }
    return outcomes;
  }

  /** Events to every trigger queue: one Queue.addBulk (a pipeline) per queue, all in the same turn. */
  async #addEach(id: string, names: readonly string[], payloads: readonly EventJobData[]): Promise<void> {
    const jobs = payloads.map((data) => ({ name: EVENT_JOB_NAME, data }));
    const what = payloads.length === 1 ? 'publish' : `publish (batch of ${payloads.length} events)`;
    await this.#producerWatch.run(id, what, () =>
      Promise.all(
        names.map((name) =>
          this.#queue(name)
            .addBulk(jobs)
            .catch((err: unknown) => {
              this.#evictQueue(name); // a Queue whose connection setup failed stays broken: use a fresh one next time
              throw err;
            }),
        ),
      ),
    );
  }

  /** Every job of a batch (events × triggers) in one MULTI: all stored or none. */
  async #addAll(id: string, names: readonly string[], payloads: readonly EventJobData[]): Promise<void> {
    const jobs: FlowJob[] = names.flatMap((queueName) =>
      payloads.map((data) => ({ name: EVENT_JOB_NAME, queueName, data, prefix: this.keys.bullPrefix, opts: JOB_OPTIONS })),
    );
    const flow = this.#flowProducer();
    try {
      const added = await this.#producerWatch.run(id, 'publish', () => flow.addBulk(jobs));
      // addBulk of a FlowProducer that is closing (evicted after a failure, or the backend closing) adds nothing and
      // resolves undefined: that is a failure to store, never a 202.
      if (added === undefined) throw this.#producerWatch.unavailable(id, 'publish: the Redis producer was closing');
    } catch (err) {
      this.#evictFlow(flow); // a FlowProducer whose connection setup failed stays broken: use a fresh one next time
      throw err;
    }
  }

  /** Events waiting per trigger of every broker this process ensured, against its limit (one script call per broker). */
  async backlog(): Promise<TriggerBacklog[]> {
    if (this.#closing !== undefined) return [];
    const out: TriggerBacklog[] = [];
    for (const [id, limit] of this.#limits) {
      const slash = id.indexOf('/');
      const { queues } = await this.#countBacklog({ namespace: id.slice(0, slash), name: id.slice(slash + 1) });
      for (const q of queues) out.push({ broker: id, trigger: q.trigger, events: q.waiting, limit });
    }
    return out;
  }

  async #countBacklog(broker: BrokerRef): Promise<{ known: boolean; queues: QueueBacklog[] }> {
    const id = brokerId(broker);
    const reply = await this.#producerWatch.run(id, 'publish', () => this.#producer.wispBacklog(this.keys.brokers, this.keys.triggers(broker), id, this.keys.bullPrefix));
    return parseBacklogReply(reply);
  }

  #limitOf(id: string): number {
    return this.#limits.get(id) ?? this.#maxBacklog;
  }

  #flowProducer(): FlowProducer {
    if (this.#flow === undefined) {
      const flow = new FlowProducer({ connection: this.#producer, prefix: this.keys.bullPrefix });
      flow.on('error', (err: unknown) => this.#logger.warn(`redis broker: producer: ${describeError(err)}`));
      this.#flow = flow;
    }
    return this.#flow;
  }

  #evictFlow(flow: FlowProducer): void {
    if (this.#flow === flow) this.#flow = undefined;
    void flow.close().catch(() => undefined);
  }

  async subscribe(sub: TriggerSubscription, handle: EventHandler): Promise<Consumer> {
    this.#assertOpen(sub.broker);
    const id = brokerId(sub.broker);
    const name = await this.#producerWatch.run(id, `subscribe ${sub.trigger}`, async () => {
      const hash = this.keys.triggers(sub.broker);
      const candidate = queueName(sub.broker, sub.trigger, randomUUID().replaceAll('-', '').slice(0, 12));
      // Pipelined in order: HGET sees the queue of an existing subscription, or the one HSETNX just set.
      const [, current] = await Promise.all([this.#producer.hsetnx(hash, sub.trigger, candidate), this.#producer.hget(hash, sub.trigger)]);
      if (current === null) throw new Error(`trigger ${sub.trigger} vanished from ${hash} while subscribing`);
      await this.#queue(current).waitUntilReady(); // writes the queue's meta (events stream cap) before any job
      return current;
    });
    const key = consumerKey(sub);
    let set = this.#consumers.get(key);
    if (set === undefined) {
      set = new Set();
      this.#consumers.set(key, set);
    }
    const owner = set;
    const consumer = new RedisConsumer({
      ...this.#tuning,
      sub,
      handle,
      queueName: name,
      bullPrefix: this.keys.bullPrefix,
      connection: this.#workerClient,
      clock: this.#clock,
      logger: this.#logger,
      onClose: (c) => {
        owner.delete(c);
        if (owner.size === 0 && this.#consumers.get(key) === owner) this.#consumers.delete(key);
      },
    });
    owner.add(consumer);
    // The subscription is durable already; a worker still connecting will consume once it is ready.
    await this.#producerWatch.run(id, `subscribe ${sub.trigger}: worker`, () => consumer.waitUntilReady()).catch((err: unknown) => {
      this.#logger.warn(`redis broker: trigger ${sub.trigger}: worker not ready yet (${describeError(err)}); it starts when Redis answers`);
    });
    return consumer;
  }

  async unsubscribe(sub: TriggerSubscription): Promise<void> {
    await Promise.all([...(this.#consumers.get(consumerKey(sub)) ?? [])].map((c) => c.close()));
    await this.#producerWatch.run(brokerId(sub.broker), `unsubscribe ${sub.trigger}`, async () => {
      const hash = this.keys.triggers(sub.broker);
      const name = await this.#producer.hget(hash, sub.trigger);
      if (name === null) return;
      await this.#producer.hdel(hash, sub.trigger);
      await this.#obliterate(name);
    });
  }

  /** The BullMQ queue of a trigger's durable subscription, if it has one (for inspection: counts, delayed jobs). */
  async queueFor(sub: Pick<TriggerSubscription, 'broker' | 'trigger'>): Promise<Queue<EventJobData> | undefined> {
    const name = await this.#producerWatch.run(brokerId(sub.broker), 'queueFor', () => this.#producer.hget(this.keys.triggers(sub.broker), sub.trigger));
    return name === null ? undefined : this.#queue(name);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Publishes accepted before close() still reach Redis (or fail): none is left waiting for a turn that never comes.
    this.#batcher.flushNow();
    await this.#batcher.settled();
    const consumers = [...this.#consumers.values()].flatMap((s) => [...s]);
    await Promise.allSettled(consumers.map((c) => c.close()));
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    const flow = this.#flow;
    this.#flow = undefined;
    await Promise.allSettled([...queues.map((q) => q.close()), flow?.close()]);
    await Promise.all([this.#quit(this.#producer), this.#quit(this.#workerClient)]);
  }

  /** QUIT if Redis answers within the command timeout, else drop the socket. */
  async #quit(client: Redis): Promise<void> {
    if (client.status !== 'ready') {
      client.disconnect();
      return;
    }
    const quit = client.quit().then(
      () => true,
      () => false,
    );
    let timer: { cancel(): void } | undefined;
    const late = new Promise<boolean>((r) => (timer = this.#clock.setTimeout(() => r(false), 1_000)));
    const ok = await Promise.race([quit, late]);
    timer?.cancel();
    if (!ok) client.disconnect();
  }

  #assertOpen(broker: BrokerRef): void {
    if (this.#closing !== undefined) throw new BackendClosedError(brokerId(broker));
  }

  #queue(name: string): Queue<EventJobData> {
    let q = this.#queues.get(name);
    if (q === undefined) {
      q = new Queue<EventJobData>(name, {
        connection: this.#producer,
        prefix: this.keys.bullPrefix,
        defaultJobOptions: JOB_OPTIONS,
        streams: { events: { maxLen: REDIS_BACKEND_DEFAULTS.eventsStreamMaxLen } },
      });
      q.on('error', (err: unknown) => this.#logger.warn(`redis broker: queue ${name}: ${describeError(err)}`));
      this.#queues.set(name, q);
    }
    return q;
  }

  #evictQueue(name: string): void {
    const q = this.#queues.get(name);
    if (q === undefined) return;
    this.#queues.delete(name);
    void q.close().catch(() => undefined);
  }

  async #obliterate(name: string): Promise<void> {
    const q = this.#queue(name);
    try {
      await q.obliterate({ force: true });
    } finally {
      this.#evictQueue(name);
    }
  }
}

function consumerKey(sub: Pick<TriggerSubscription, 'broker' | 'trigger'>): string {
  return `${brokerId(sub.broker)}\n${sub.trigger}`;
}
