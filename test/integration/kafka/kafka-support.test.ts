import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { kafkaBrokers, KafkaSupportError, startKafka, ensureKafkaJars, uniqueName, withAdmin } from '../../support/kafka/index.js';
import { clusterIdFrom, LineTail, serverProperties } from '../../support/kafka/config.js';
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

describe('startKafka when the broker cannot start', () => {
  let blocker: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy(); // the readiness probe's connections to the port holder
    sockets.clear();
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
    blocker = undefined;
  });

  it('fails with the JVM\'s own last output when the port is taken', async () => {
    const srv = createServer((sock) => void sockets.add(sock));
    blocker = srv;
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const addr = srv.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const err = await startKafka({ port, heapMb: 256, readyTimeoutMs: 25_000 }).then(
      async (k) => {
        await k.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KafkaSupportError);
    expect((err as KafkaSupportError).code).toBe('WISP_ERR_KAFKA_EXITED');
    expect((err as Error).message).toContain('Address already in use');
  });
});

describe('ensureKafkaJars', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('resolves once into an empty cache even when two runs ask at the same time, then reuses it', { timeout: 240_000 }, async () => {
    const cache = await mkdtemp(join(tmpdir(), 'wisp-kafka-cache-'));
    dirs.push(cache);
    const env = { ...process.env, WISP_CACHE_DIR: cache };
    const logs: string[] = [];
    const log = (m: string): void => void logs.push(m);
    const [a, b] = await Promise.all([ensureKafkaJars({ env, log }), ensureKafkaJars({ env, log })]);
    expect(a).toBe(join(cache, 'kafka-3.9.2', 'libs'));
    expect(b).toBe(a);
    expect(logs.filter((m) => m.startsWith('resolving Kafka jars'))).toHaveLength(1);
    const jars = await readdir(a);
    for (const want of ['kafka_2.13-3.9.2.jar', 'kafka-clients-3.9.2.jar', 'kafka-raft-3.9.2.jar', 'slf4j-reload4j-1.7.36.jar', 'reload4j-1.2.25.jar', 'scala-library-2.13.15.jar']) {
      expect(jars).toContain(want);
    }
    expect((await readFile(join(cache, 'kafka-3.9.2', 'complete'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    // Warm: no Maven at all (PATH without mvn still works).
    const again = await ensureKafkaJars({ env: { ...env, PATH: cache }, log });
    expect(again).toBe(a);
    expect(logs.filter((m) => m.startsWith('resolving Kafka jars'))).toHaveLength(1);
  });
});

describe('Kafka config (pure)', () => {
  it('writes a combined-mode KRaft server.properties for tests', () => {
    const props = serverProperties({ port: 40001, controllerPort: 40002, logDir: '/tmp/x/data' });
    const map = new Map(props.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    expect(map.get('process.roles')).toBe('broker,controller');
    expect(map.get('controller.quorum.voters')).toBe('1@127.0.0.1:40002');
    expect(map.get('listeners')).toBe('PLAINTEXT://127.0.0.1:40001,CONTROLLER://127.0.0.1:40002');
    expect(map.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:40001');
    expect(map.get('log.dirs')).toBe('/tmp/x/data');
    expect(map.get('auto.create.topics.enable')).toBe('false');
    expect(map.get('group.initial.rebalance.delay.ms')).toBe('0');
    expect(map.get('offsets.topic.replication.factor')).toBe('1');
    expect(map.get('transaction.state.log.min.isr')).toBe('1');
    expect(map.get('num.partitions')).toBe('3');
  });

  it('makes base64url cluster ids from 16 bytes and refuses ones that look like flags', () => {
    expect(clusterIdFrom(new Uint8Array(16))).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    expect(clusterIdFrom(new Uint8Array(16).fill(0xfb))).toBeUndefined(); // '-' first
    expect(() => clusterIdFrom(new Uint8Array(8))).toThrow(/16 bytes/);
  });

  it('keeps the last lines of output across chunk boundaries', () => {
    const tail = new LineTail(2);
    tail.push('one\ntw');
    tail.push('o\nthree\nfo');
    expect(tail.text()).toBe('three\nfo');
  });
});
