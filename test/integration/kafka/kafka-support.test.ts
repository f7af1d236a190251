import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { kafkaBrokers, KafkaSupportError, startKafka, ensureKafkaJars, uniqueName, withAdmin } from '../../support/kafka/index.js';
import { waitFor } from '../../support/wait.js';

describe('the Kafka provided to the kafka test project', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('creates a topic, takes 10 records with acks=all and delivers them to a consumer group', async () => {
    const brokers = kafkaBrokers();
    const topic = uniqueName('wisp-support');
    const groupId = uniqueName('wisp-support-group');
    await withAdmin(brokers, async (admin) => {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    });
    cleanups.push(() => withAdmin(brokers, (admin) => admin.deleteTopics({ topics: [topic] })));

    const kafka = new Kafka({ clientId: uniqueName('wisp-support-client'), brokers: brokers.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 3_000, requestTimeout: 10_000 });
    const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `record-${i}` }));
    const acks = await producer.send({ topic, acks: -1, messages: sent });
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Array<{ key: string; value: string; partition: number }> = [];
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        received.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', partition });
      },
    });
    await waitFor(() => received.length >= 10, { timeoutMs: 30_000, what: '10 records consumed' });

    expect(received.map((r) => r.value).sort()).toEqual(sent.map((s) => s.value).sort());
    for (const r of received) expect(r.value).toBe(`record-${r.key.slice(1)}`);
    // The topic really has 3 partitions and the group committed what it read.
    await waitFor(
      () =>
        withAdmin(brokers, async (admin) => {
          const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
          const committed = offsets.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
          return committed === 10;
        }),
      { timeoutMs: 15_000, what: 'group committed 10 offsets' },
    );
    const meta = await withAdmin(brokers, (admin) => admin.fetchTopicMetadata({ topics: [topic] }));
    expect(meta.topics[0]?.partitions).toHaveLength(3);
  });

  it('does not create topics on first use (auto.create.topics.enable=false)', async () => {
    const brokers = kafkaBrokers();
    const topic = uniqueName('wisp-support-missing');
    const kafka = new Kafka({ clientId: uniqueName('wisp-support-client'), brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await expect(producer.send({ topic, acks: -1, messages: [{ value: 'x' }] })).rejects.toThrow();
    const topics = await withAdmin(brokers, (admin) => admin.listTopics());
    expect(topics).not.toContain(topic);
  });
});

describe('startKafka without the tools it needs', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function emptyDir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'wisp-kafka-nopath-'));
    dirs.push(d);
    return d;
  }

  it('fails (does not skip) with a clear message when java is not on PATH', async () => {
    const empty = await emptyDir();
    const err = await startKafka({ env: { ...process.env, PATH: empty } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KafkaSupportError);
    expect((err as KafkaSupportError).code).toBe('WISP_ERR_KAFKA_JAVA_MISSING');
    const msg = (err as Error).message;
    expect(msg).toContain('`java` was not found on PATH');
    expect(msg).toContain('openjdk-17');
    expect(msg).toContain('WISP_KAFKA_BROKERS');
  });

  it('fails with a clear message when mvn is missing and the jar cache is empty', async () => {
    const empty = await emptyDir();
    const cache = await emptyDir();
    const err = await ensureKafkaJars({ env: { ...process.env, PATH: empty, WISP_CACHE_DIR: cache } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KafkaSupportError);
    expect((err as KafkaSupportError).code).toBe('WISP_ERR_KAFKA_MVN_MISSING');
    expect((err as Error).message).toMatch(/`mvn` \(Apache Maven\) was not found on PATH.*apt-get install maven.*WISP_KAFKA_BROKERS/s);
  });
});
