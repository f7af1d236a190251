/**
 * KafkaBackend against the real Kafka of the `kafka` vitest project: the shared EventBackend contract (durable
 * cases included) plus what only Kafka has: records in binary mode with `ce_` headers and the partitionkey as
 * key, contiguous offset commits, ordered delivery per partition, redelivery of unfinished records after a
 * restart, group and topic deletion, and a fast retriable failure when Kafka cannot be reached.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { KafkaBackend, type KafkaBackendOptions, type KafkaTopicConfig } from '../../../broker/backends/kafka/index.js';
import { brokerTopic, triggerGroupId } from '../../../broker/backends/kafka/codec.js';
import type { BrokerRef, Consumer, HandleOutcome, StoredEvent } from '../../../broker/types.js';
import { systemClock } from '../../../src/clock.js';
import { BACKPRESSURE_LIMIT, describeEventBackendContract } from '../../contract/event-backend.js';
import { kafkaBrokers, uniqueName, withAdmin } from '../../support/kafka/index.js';
import { freePort, waitFor } from '../../support/wait.js';

const DONE: HandleOutcome = { kind: 'done' };
const quiet = { warn: () => undefined, error: (m: string) => void process.stderr.write(`${m}\n`) };

/** Remembers the brokers it created so a fixture can delete their topics afterwards. */
class TrackedKafkaBackend extends KafkaBackend {
  readonly brokersSeen: BrokerRef[] = [];
  override async ensureBroker(broker: BrokerRef, config?: KafkaTopicConfig): Promise<void> {
    this.brokersSeen.push(broker);
    await super.ensureBroker(broker, config);
  }
}

function newBackend(extra: Partial<KafkaBackendOptions> = {}): TrackedKafkaBackend {
  return new TrackedKafkaBackend({ brokers: kafkaBrokers().split(','), clientId: uniqueName('wisp-test'), clock: systemClock, logger: quiet, ...extra });
}

async function dispose(backends: TrackedKafkaBackend[]): Promise<void> {
  const refs = backends.flatMap((b) => b.brokersSeen);
  await Promise.all(backends.map((b) => b.close()));
  const topics = [...new Set(refs.map((r) => brokerTopic(r.namespace, r.name)))];
  if (topics.length > 0) {
    await withAdmin(kafkaBrokers(), async (admin) => {
      const existing = new Set(await admin.listTopics());
      const gone = topics.filter((t) => existing.has(t));
      if (gone.length > 0) await admin.deleteTopics({ topics: gone });
    });
  }
}

// The contract runs on one-partition topics: Kafka orders only within a partition, and the contract's
// "maxInFlight 1 keeps arrival order" holds for a broker only when all its events share one partition.
describeEventBackendContract(
  'KafkaBackend',
  async () => {
    // The produce queue refuses past BACKPRESSURE_LIMIT, so the contract's batch cases can put Kafka under backpressure.
    const opened: TrackedKafkaBackend[] = [newBackend({ topicPartitions: 1, maxQueuedPublishes: BACKPRESSURE_LIMIT })];
    return {
      backend: opened[0] as TrackedKafkaBackend,
      reopen: async () => {
        const b = newBackend({ topicPartitions: 1, maxQueuedPublishes: BACKPRESSURE_LIMIT });
        opened.push(b);
        return b;
      },
      cleanup: () => dispose(opened),
    };
  },
  { durable: true },
);

describe('KafkaBackend on a real Kafka', () => {
  const backends: TrackedKafkaBackend[] = [];
  const consumers: Consumer[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
    for (const c of cleanups.splice(0)) await c();
    await dispose(backends.splice(0));
  });

  function backend(extra: Partial<KafkaBackendOptions> = {}): TrackedKafkaBackend {
    const b = newBackend(extra);
    backends.push(b);
    return b;
  }

  async function broker(b: KafkaBackend, config?: KafkaTopicConfig): Promise<BrokerRef> {
    const ref = { namespace: `ns-${randomUUID().slice(0, 8)}`, name: `b-${randomUUID().slice(0, 8)}` };
    await b.ensureBroker(ref, config);
    return ref;
  }

  function event(extra: Record<string, unknown> = {}): CloudEvent {
    return new CloudEvent<unknown>({ id: randomUUID(), type: 'dev.wisp.kafka', source: '/kafka-test', data: { n: 1 }, ...extra }) as unknown as CloudEvent;
  }

  function committed(admin: Admin, groupId: string, topic: string, partition = 0): Promise<number> {
    return admin.fetchOffsets({ groupId, topics: [topic] }).then((r) => Number(r[0]?.partitions.find((p) => p.partition === partition)?.offset ?? -1));
  }

  /** A handler whose calls wait until the test releases them, by event id. */
  class Gate {
    readonly seen: StoredEvent[] = [];
    readonly #release = new Map<string, () => void>();
    handler = async (s: StoredEvent): Promise<HandleOutcome> => {
      this.seen.push(s);
      await new Promise<void>((r) => this.#release.set(s.event.id, r));
      return DONE;
    };
    holding(id: string): boolean {
      return this.#release.has(id);
    }
    release(id: string): void {
      const r = this.#release.get(id);
      this.#release.delete(id);
      r?.();
    }
  }

  it('creates the topic knative-broker-<ns>-<name> with the configured partitions, replication clamped to the cluster', async () => {
    const b = backend();
    const ref = await broker(b);
    await b.ensureBroker(ref);
    const meta = await withAdmin(kafkaBrokers(), (admin) => admin.fetchTopicMetadata({ topics: [brokerTopic(ref.namespace, ref.name)] }));
    const topic = meta.topics[0];
    expect(topic?.name).toBe(`knative-broker-${ref.namespace}-${ref.name}`);
    expect(topic?.partitions).toHaveLength(10);
    expect(topic?.partitions[0]?.replicas).toHaveLength(1);
    const small = await broker(b, { partitions: 2 });
    const meta2 = await withAdmin(kafkaBrokers(), (admin) => admin.fetchTopicMetadata({ topics: [brokerTopic(small.namespace, small.name)] }));
    expect(meta2.topics[0]?.partitions).toHaveLength(2);
  });

  it('sticky partitioning: the key-less events of one produce request share a partition; keyed events follow their key', async () => {
    const b = backend();
    const ref = await broker(b);
    const topic = brokerTopic(ref.namespace, ref.name);
    // A fresh topic's leaders may still be settling (NOT_LEADER on ListOffsets): read until Kafka answers.
    const perPartition = (): Promise<Map<number, number>> =>
      waitFor(() => withAdmin(kafkaBrokers(), async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]))), {
        what: `end offsets of ${topic}`,
      });
    await b.publish(ref, event()); // reads the topic's partitions
    const before = b.produceStats().requests;
    const start = await perPartition();
    await Promise.all(Array.from({ length: 30 }, () => b.publish(ref, event())));
    expect(b.produceStats().requests - before).toBe(1); // one turn's publishes share one request
    const grown = [...(await perPartition())].filter(([p, high]) => high > (start.get(p) ?? 0));
    expect(grown).toHaveLength(1);
    expect((grown[0] as [number, number])[1] - (start.get((grown[0] as [number, number])[0]) ?? 0)).toBe(30);
    // Keyed events: every one of one key in one partition, whichever requests carried them.
    const keyedStart = await perPartition();
    for (let i = 0; i < 6; i++) await Promise.all([b.publish(ref, event({ partitionkey: 'order-42' })), b.publish(ref, event({ partitionkey: 'order-7' }))]);
    const end = await perPartition();
    const keyedGrowth = [...end].map(([p, high]) => high - (keyedStart.get(p) ?? 0)).filter((n) => n > 0);
    expect(keyedGrowth.reduce((n, d) => n + d, 0)).toBe(12);
    expect(keyedGrowth.length).toBeLessThanOrEqual(2); // two keys, at most two partitions, though six requests carried them
  });

  it('stores events in binary mode: ce_ headers, content-type, data bytes as value, partitionkey as record key', async () => {
    const b = backend();
    const ref = await broker(b, { partitions: 1 });
    const e = new CloudEvent({ id: randomUUID(), type: 'dev.wisp.order', source: '/shop', datacontenttype: 'application/json', data: { order: 42 }, partitionkey: 'order-42', priority: 7 });
    await b.publish(ref, e as unknown as CloudEvent);
    const kafka = new Kafka({ clientId: uniqueName('raw'), brokers: kafkaBrokers().split(','), logLevel: logLevel.NOTHING });
    const raw = kafka.consumer({ groupId: uniqueName('raw-reader'), maxWaitTimeInMs: 100 });
    cleanups.push(() => raw.disconnect());
    await raw.connect();
    await raw.subscribe({ topic: brokerTopic(ref.namespace, ref.name), fromBeginning: true });
    const got: Array<{ key: string | undefined; value: string | undefined; headers: Record<string, string> }> = [];
    await raw.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        got.push({ key: message.key?.toString(), value: message.value?.toString(), headers });
      },
    });
    await waitFor(() => got.length === 1, { what: 'the raw record', timeoutMs: 20_000 });
    expect(got[0]?.key).toBe('order-42');
    expect(got[0]?.value).toBe('{"order":42}');
    expect(got[0]?.headers).toMatchObject({
      ce_id: e.id,
      ce_type: 'dev.wisp.order',
      ce_source: '/shop',
      ce_specversion: '1.0',
      'content-type': 'application/json',
      ce_partitionkey: 'order-42',
      ce_priority: '7',
    });
  });

  it('commits only the contiguous finished prefix: offset stays at 2 while record 2 is unfinished', async () => {
    const b = backend();
    const ref = await broker(b, { partitions: 1 });
    const trigger = `${ref.namespace}/t-${randomUUID().slice(0, 8)}`;
    const gate = new Gate();
    consumers.push(await b.subscribe({ broker: ref, trigger, maxInFlight: 10 }, gate.handler));
    const events = Array.from({ length: 5 }, (_, i) => event({ data: { i } }));
    for (const e of events) await b.publish(ref, e);
    const ids = events.map((e) => e.id);
    await waitFor(() => ids.every((id) => gate.holding(id)), { what: 'five records in flight', timeoutMs: 20_000 });
    const topic = brokerTopic(ref.namespace, ref.name);
    await withAdmin(kafkaBrokers(), async (admin) => {
      const group = triggerGroupId(trigger);
      expect(await committed(admin, group, topic)).toBe(0);
      // 3 and 4 finish first, then 0 and 1: the commit after 0 and 1 must stop at 2, not jump to 5.
      gate.release(ids[3] as string);
      gate.release(ids[4] as string);
      gate.release(ids[0] as string);
      gate.release(ids[1] as string);
      await waitFor(async () => (await committed(admin, group, topic)) === 2, { what: 'commit at 2', timeoutMs: 20_000 });
      gate.release(ids[2] as string);
      await waitFor(async () => (await committed(admin, group, topic)) === 5, { what: 'commit at 5', timeoutMs: 20_000 });
    });
  });

  it('ordered: same-key events one at a time in order while a slow handler blocks; other partitions go on', async () => {
    const b = backend();
    const ref = await broker(b, { partitions: 10 });
    const gate = new Gate();
    consumers.push(await b.subscribe({ broker: ref, trigger: `${ref.namespace}/ordered`, maxInFlight: 100, ordered: true }, gate.handler));
    const slow = Array.from({ length: 5 }, (_, i) => event({ partitionkey: 'slow-key', data: { i } }));
    const others = Array.from({ length: 8 }, (_, i) => event({ partitionkey: `other-${i}` }));
    for (const e of [...slow, ...others]) await b.publish(ref, e);
    const slowIds = slow.map((e) => e.id);
    await waitFor(() => gate.holding(slowIds[0] as string), { what: 'first slow-key event in flight', timeoutMs: 20_000 });
    // Keys of other partitions are delivered while the slow partition is held (10 partitions, 8 keys: some land elsewhere).
    const otherIds = new Set(others.map((e) => e.id));
    await waitFor(() => gate.seen.some((s) => otherIds.has(s.event.id)), { what: 'an event of another partition', timeoutMs: 20_000 });
    for (const s of gate.seen) if (otherIds.has(s.event.id)) gate.release(s.event.id);
    expect(gate.seen.filter((s) => slowIds.includes(s.event.id)).map((s) => s.event.id)).toEqual([slowIds[0]]);
    for (let i = 0; i < slowIds.length; i++) {
      const id = slowIds[i] as string;
      await waitFor(() => gate.holding(id), { what: `slow-key event ${i} in flight`, timeoutMs: 20_000 });
      const inFlightSlow = slowIds.filter((x) => gate.holding(x));
      expect(inFlightSlow).toEqual([id]);
      gate.release(id);
      // Events of other partitions that share a partition with slow-key come in between; let them pass.
      for (const s of gate.seen) if (otherIds.has(s.event.id)) gate.release(s.event.id);
    }
    expect(gate.seen.filter((s) => slowIds.includes(s.event.id)).map((s) => s.event.id)).toEqual(slowIds);
    await waitFor(() => gate.seen.length === slow.length + others.length, { what: 'every event', timeoutMs: 20_000 });
    for (const s of gate.seen) gate.release(s.event.id);
  });

  it('restart: closing with records in flight keeps them; the next consumer gets exactly the unfinished ones', async () => {
    const b = backend({ closeTimeoutMs: 0 });
    const ref = await broker(b, { partitions: 1 });
    const trigger = `${ref.namespace}/restart`;
    const gate = new Gate();
    const first = await b.subscribe({ broker: ref, trigger, maxInFlight: 10 }, gate.handler);
    const events = Array.from({ length: 4 }, (_, i) => event({ data: { i } }));
    for (const e of events) await b.publish(ref, e);
    const ids = events.map((e) => e.id);
    await waitFor(() => ids.every((id) => gate.holding(id)), { what: 'four records in flight', timeoutMs: 20_000 });
    gate.release(ids[0] as string);
    gate.release(ids[1] as string);
    const topic = brokerTopic(ref.namespace, ref.name);
    await withAdmin(kafkaBrokers(), (admin) =>
      waitFor(async () => (await committed(admin, triggerGroupId(trigger), topic)) === 2, { what: 'commit at 2', timeoutMs: 20_000 }),
    );
    await first.close();
    const again: StoredEvent[] = [];
    consumers.push(
      await b.subscribe({ broker: ref, trigger, maxInFlight: 10 }, async (s) => {
        again.push(s);
        return DONE;
      }),
    );
    const marker = event();
    await b.publish(ref, marker);
    await waitFor(() => again.some((s) => s.event.id === marker.id), { what: 'marker after restart', timeoutMs: 30_000 });
    expect(again.map((s) => s.event.id)).toEqual([ids[2], ids[3], marker.id]);
    gate.release(ids[2] as string);
    gate.release(ids[3] as string);
  });

  it('unsubscribe deletes the consumer group; deleteBroker deletes its groups and the topic', async () => {
    const b = backend();
    const ref = await broker(b, { partitions: 1 });
    const keep = `${ref.namespace}/keep`;
    const drop = `${ref.namespace}/drop`;
    consumers.push(await b.subscribe({ broker: ref, trigger: keep, maxInFlight: 1 }, async () => DONE));
    const dropped = await b.subscribe({ broker: ref, trigger: drop, maxInFlight: 1 }, async () => DONE);
    await dropped.close();
    const groups = (): Promise<string[]> => withAdmin(kafkaBrokers(), async (a) => (await a.listGroups()).groups.map((g) => g.groupId));
    expect(await groups()).toEqual(expect.arrayContaining([triggerGroupId(keep), triggerGroupId(drop)]));
    await b.unsubscribe({ broker: ref, trigger: drop, maxInFlight: 1 });
    await b.unsubscribe({ broker: ref, trigger: drop, maxInFlight: 1 });
    const after = await groups();
    expect(after).toContain(triggerGroupId(keep));
    expect(after).not.toContain(triggerGroupId(drop));
    await b.deleteBroker(ref);
    expect(await groups()).not.toContain(triggerGroupId(keep));
    const topics = await withAdmin(kafkaBrokers(), (a) => a.listTopics());
    expect(topics).not.toContain(brokerTopic(ref.namespace, ref.name));
    await expect(b.publish(ref, event())).rejects.toMatchObject({ code: 'WISP_ERR_BROKER_NOT_FOUND' });
  });

  it('a handler can publish (a reply) to the same broker', async () => {
    const b = backend();
    const ref = await broker(b, { partitions: 1 });
    const seen: string[] = [];
    consumers.push(
      await b.subscribe({ broker: ref, trigger: `${ref.namespace}/replier`, maxInFlight: 5 }, async (s) => {
        seen.push(s.event.type);
        if (s.event.type === 'dev.wisp.request') await b.publish(ref, event({ type: 'dev.wisp.reply' }));
        return DONE;
      }),
    );
    await b.publish(ref, event({ type: 'dev.wisp.request' }));
    await waitFor(() => seen.includes('dev.wisp.reply'), { what: 'the reply', timeoutMs: 20_000 });
    expect(seen).toEqual(['dev.wisp.request', 'dev.wisp.reply']);
  });

  it('Kafka unreachable: publish rejects fast with a retriable BackendUnavailableError, health says why', async () => {
    const port = await freePort();
    const b = backend({ brokers: [`127.0.0.1:${port}`], connectTimeoutMs: 500 });
    expect(b.health().ok).toBe(true);
    const started = Date.now();
    const err = await b.publish({ namespace: 'default', name: 'nowhere' }, event()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toMatchObject({ code: 'WISP_ERR_BACKEND_UNAVAILABLE', retriable: true, statusCode: 503 });
    expect(String((err as Error).message)).toContain('default/nowhere');
    const health = b.health();
    expect(health.ok).toBe(false);
    expect(health.reason).toMatch(/connect|ECONNREFUSED|Connection/i);
  });

  it('throughput: publish -> handle through one trigger', async () => {
    const b = backend();
    const ref = await broker(b);
    let handled = 0;
    consumers.push(
      await b.subscribe({ broker: ref, trigger: `${ref.namespace}/bench`, maxInFlight: 100 }, async () => {
        handled++;
        return DONE;
      }),
    );
    const n = 2_000;
    const started = performance.now();
    for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => b.publish(ref, event({ data: { i: i + j } }))));
    const published = performance.now();
    await waitFor(() => handled === n, { what: `${n} handled`, timeoutMs: 60_000, intervalMs: 5 });
    const done = performance.now();
    process.stdout.write(
      `kafka backend throughput: ${n} events, publish ${Math.round((n * 1000) / (published - started))} ev/s (acks=all, 100 concurrent), ` +
        `publish->handled ${Math.round((n * 1000) / (done - started))} ev/s end to end\n`,
    );
    expect(handled).toBe(n);
  });
});
