/**
 * KafkaSource against the real Kafka of the `kafka` vitest project and a real HTTP sink (Recorder): records produced
 * with kafkajs and with kcat, earliest/latest, pass-through of CloudEvents records, wrapping of plain ones, offsets
 * committed only after the sink accepted (restart mid-stream), a sink that is down, missing topics, and a cluster
 * that cannot be reached.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { HttpSender } from '../../../broker/delivery/index.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject } from '../../../src/api/types.js';
import { systemClock } from '../../../src/clock.js';
import { Store } from '../../../src/control/store.js';
import { KafkaSourcesReconciler } from '../../../src/importers/kafka/index.js';
import { kafkaBrokers, kcatProduce, uniqueName, withAdmin } from '../../support/kafka/index.js';
import { Recorder, type RecordedRequest, type Responder } from '../../support/recorder.js';
import { freePort, waitFor } from '../../support/wait.js';

const KAFKASOURCES = kindByName('kafkasources') as KindInfo;

interface Fixture {
  store: Store;
  sender: HttpSender;
  reconciler: KafkaSourcesReconciler;
  errors: string[];
  stop: () => Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function createTopic(partitions = 2): Promise<string> {
  const topic = uniqueName('kafkasource');
  await withAdmin(kafkaBrokers(), (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] }));
  cleanups.push(() => withAdmin(kafkaBrokers(), (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => undefined));
  return topic;
}

async function producer(): Promise<Producer> {
  const kafka = new Kafka({ clientId: uniqueName('kafkasource-test'), brokers: kafkaBrokers().split(','), logLevel: logLevel.NOTHING });
  const p = kafka.producer();
  await p.connect();
  cleanups.push(() => p.disconnect());
  return p;
}

const kcat = (args: string[], lines: string[]): Promise<void> => kcatProduce(kafkaBrokers(), args, lines);

async function sink(responder?: Responder): Promise<Recorder> {
  const r = await new Recorder(responder).start();
  cleanups.push(() => r.stop());
  return r;
}

async function fixture(store?: Store): Promise<Fixture> {
  const s = store ?? (await Store.open({ clock: systemClock }));
  const sender = new HttpSender();
  const errors: string[] = [];
  const reconciler = new KafkaSourcesReconciler({
    store: s,
    clock: systemClock,
    sender,
    delivery: { backoffDelayMs: 20, maxBackoffMs: 200, timeoutMs: 2_000, reconnectDelayMs: 200, maxReconnectDelayMs: 500 },
    onError: (what, err) => errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
  });
  reconciler.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await reconciler.stop();
    await sender.close();
  };
  cleanups.push(stop);
  return { store: s, sender, reconciler, errors, stop };
}

function source(name: string, spec: Record<string, unknown>): KObject {
  return {
    apiVersion: 'sources.knative.dev/v1beta1',
    kind: 'KafkaSource',
    metadata: { name, namespace: 'default' },
    spec: { bootstrapServers: kafkaBrokers().split(','), consumerGroup: uniqueName('group'), ...spec },
  };
}

function condition(store: Store, name: string, type: string): Condition | undefined {
  const s = store.get(KAFKASOURCES, 'default', name);
  return ((s?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
}

const ready = (store: Store, name: string): Promise<unknown> =>
  waitFor(() => condition(store, name, 'Ready')?.status === 'True', { timeoutMs: 20_000, what: `${name} Ready` });

const ids = (reqs: RecordedRequest[]): string[] => reqs.map((r) => String(r.headers['ce-id']));

describe('KafkaSource on a real Kafka', () => {
  it('earliest: delivers the records already in the topic once each; wrapped records carry every attribute, CloudEvents pass through', async () => {
    const topic = await createTopic(2);
    const p = await producer();
    const ts = Date.UTC(2026, 0, 2, 3, 4, 5);
    await p.send({
      topic,
      messages: [
        { key: 'k1', value: '{"n":1}', partition: 0, timestamp: String(ts), headers: { 'content-type': 'application/json', 'X-Trace': 'abc' } },
        { key: null, value: 'plain', partition: 1, timestamp: String(ts) },
        {
          value: '{"n":3}',
          partition: 0,
          headers: { ce_specversion: '1.0', ce_id: 'evt-3', ce_type: 'com.example.created', ce_source: '/shop', ce_myext: 'mine', 'content-type': 'application/json' },
        },
        {
          value: JSON.stringify({ specversion: '1.0', id: 'evt-4', type: 'com.example.structured', source: '/s', time: '2026-01-01T00:00:00Z', data: { n: 4 } }),
          partition: 1,
          headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
        },
      ],
    });
    const rec = await sink();
    const f = await fixture();
    f.store.apply(source('orders', { topics: [topic], initialOffset: 'earliest', sink: { uri: rec.url }, ceOverrides: { extensions: { team: 'shop' } } }));
    await ready(f.store, 'orders');
    await waitFor(() => rec.requests.length >= 4, { timeoutMs: 20_000, what: '4 deliveries' });

    const byId = new Map(rec.requests.map((r) => [String(r.headers['ce-id']), r]));
    const keyed = byId.get('partition:0/offset:0');
    expect(keyed?.headers).toMatchObject({
      'ce-type': 'dev.knative.kafka.event',
      'ce-source': `/apis/v1/namespaces/default/kafkasources/orders#${topic}`,
      'ce-subject': 'partition:0#0',
      'ce-time': new Date(ts).toISOString(),
      'ce-key': 'k1',
      'ce-partitionkey': 'k1',
      'ce-kafkaheaderxtrace': 'abc',
      'ce-team': 'shop',
      'content-type': 'application/json',
    });
    expect(keyed?.body).toBe('{"n":1}');
    const plain = byId.get('partition:1/offset:0');
    expect(plain?.headers['ce-subject']).toBe('partition:1#0');
    expect(plain?.headers['ce-key']).toBeUndefined();
    expect(plain?.headers['content-type']).toBe('application/octet-stream');
    expect(plain?.body).toBe('plain');
    const binary = byId.get('evt-3');
    expect(binary?.headers).toMatchObject({ 'ce-type': 'com.example.created', 'ce-source': '/shop', 'ce-myext': 'mine', 'ce-team': 'shop' });
    expect(JSON.parse(binary?.body ?? '')).toEqual({ n: 3 });
    const structured = byId.get('evt-4');
    expect(structured?.headers).toMatchObject({ 'ce-type': 'com.example.structured', 'ce-source': '/s', 'ce-team': 'shop' });
    expect(JSON.parse(structured?.body ?? '')).toEqual({ n: 4 });

    expect(ids(rec.requests).sort()).toEqual(['evt-3', 'evt-4', 'partition:0/offset:0', 'partition:1/offset:0']);
    const status = f.store.get(KAFKASOURCES, 'default', 'orders')?.status as { sinkUri?: string; ceAttributes?: unknown[] };
    expect(status.sinkUri).toBe(rec.url);
    expect(status.ceAttributes).toEqual([{ type: 'dev.knative.kafka.event', source: `/apis/v1/namespaces/default/kafkasources/orders#${topic}` }]);
  });

  it('kcat -P: binary CloudEvents (ce_ headers) pass through with their own type and id; keyed plain lines are wrapped', async () => {
    const topic = await createTopic(1);
    const rec = await sink();
    const f = await fixture();
    f.store.apply(source('kcat', { topics: [topic], initialOffset: 'earliest', sink: { uri: rec.url } }));
    await ready(f.store, 'kcat');
    await kcat(['-t', topic, '-H', 'ce_specversion=1.0', '-H', 'ce_type=com.example.kcat', '-H', 'ce_id=kcat-1', '-H', 'ce_source=/kcat', '-H', 'content-type=application/json'], [
      '{"from":"kcat"}',
    ]);
    await kcat(['-t', topic, '-K:', '-H', 'X-Origin=cli'], ['order-7:hello', 'order-8:world']);
    await waitFor(() => rec.requests.length >= 3, { timeoutMs: 20_000, what: '3 deliveries' });
    const [ce, first, second] = rec.requests;
    expect(ce?.headers).toMatchObject({ 'ce-type': 'com.example.kcat', 'ce-id': 'kcat-1', 'ce-source': '/kcat' });
    expect(JSON.parse(ce?.body ?? '')).toEqual({ from: 'kcat' });
    expect(first?.headers).toMatchObject({ 'ce-type': 'dev.knative.kafka.event', 'ce-id': 'partition:0/offset:1', 'ce-key': 'order-7', 'ce-partitionkey': 'order-7', 'ce-kafkaheaderxorigin': 'cli' });
    expect(first?.body).toBe('hello');
    expect(second?.headers).toMatchObject({ 'ce-id': 'partition:0/offset:2', 'ce-key': 'order-8' });
    expect(rec.requests).toHaveLength(3);
  });

  it('latest (the default): records from before the source are not delivered, records after it became Ready are', async () => {
    const topic = await createTopic(2);
    const p = await producer();
    await p.send({ topic, messages: [{ value: 'old-0', partition: 0 }, { value: 'old-1', partition: 1 }] });
    const rec = await sink();
    const f = await fixture();
    f.store.apply(source('latest', { topics: [topic], sink: { uri: rec.url } }));
    await ready(f.store, 'latest');
    await p.send({ topic, messages: [{ value: 'new-0', partition: 0 }, { value: 'new-1', partition: 1 }] });
    await waitFor(() => rec.requests.length >= 2, { timeoutMs: 20_000, what: '2 deliveries' });
    expect(rec.requests.map((r) => r.body).sort()).toEqual(['new-0', 'new-1']);
    expect(ids(rec.requests).sort()).toEqual(['partition:0/offset:1', 'partition:1/offset:1']);
  });

  it('commits only what the sink accepted: stopped mid-stream and restarted, no record is skipped and duplicates stay within the in-flight window', async () => {
    const topic = await createTopic(2);
    const group = uniqueName('group');
    const p = await producer();
    const total = 200;
    await p.send({ topic, messages: Array.from({ length: total }, (_, i) => ({ value: String(i), partition: i % 2 })) });
    const rec = await sink();
    const store = await Store.open({ clock: systemClock });
    const first = await fixture(store);
    store.apply(source('resume', { topics: [topic], consumerGroup: group, initialOffset: 'earliest', sink: { uri: rec.url } }));
    await waitFor(() => rec.requests.length >= 40, { timeoutMs: 20_000, what: '40 deliveries' });
    await first.stop();
    const beforeRestart = rec.requests.length;
    expect(beforeRestart).toBeLessThan(total);

    const second = await fixture(store);
    await waitFor(() => new Set(rec.requests.map((r) => r.body)).size === total, { timeoutMs: 30_000, what: 'every record delivered' });
    const counts = new Map<string, number>();
    for (const r of rec.requests) counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    // At most one record per partition was on the wire when the first consumer stopped.
    expect(duplicates).toBeLessThanOrEqual(2);
    // Per partition, the sink saw the records in offset order (a duplicate only repeats the record before).
    for (const partition of [0, 1]) {
      const seen = rec.requests.map((r) => Number(r.body)).filter((n) => n % 2 === partition);
      const firsts = seen.filter((n, i) => seen.indexOf(n) === i);
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    }
    expect(second.errors).toEqual([]);
  });

  it('a sink that is down: the record is retried, the source reports SinkUnavailable, and nothing is skipped once the sink is back', async () => {
    const topic = await createTopic(1);
    let down = true;
    const rec = await sink(() => (down ? { status: 503 } : { status: 202 }));
    const f = await fixture();
    f.store.apply(source('flaky', { topics: [topic], initialOffset: 'earliest', sink: { uri: rec.url } }));
    await ready(f.store, 'flaky');
    const p = await producer();
    await p.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })) });
    await waitFor(() => condition(f.store, 'flaky', 'Deployed')?.reason === 'SinkUnavailable', { timeoutMs: 10_000, what: 'SinkUnavailable' });
    expect(condition(f.store, 'flaky', 'Ready')?.status).toBe('False');
    expect(condition(f.store, 'flaky', 'Deployed')?.message).toContain('503');
    await waitFor(() => rec.requests.length >= 5, { what: 'several attempts' });
    expect(new Set(rec.requests.map((r) => r.body))).toEqual(new Set(['m0']));
    down = false;
    await waitFor(() => rec.requests.filter((r) => r.body === 'm4').length > 0, { timeoutMs: 20_000, what: 'all records after recovery' });
    const accepted = rec.requests.slice(rec.requests.findIndex((r, i) => i > 0 && r.body !== 'm0') - 1).map((r) => r.body);
    expect(accepted).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await ready(f.store, 'flaky');
    expect(f.errors.some((e) => e.includes('HTTP 503'))).toBe(true);
  });

  it('topics that do not exist: Deployed False TopicsNotFound, then Ready once the topic is created', async () => {
    const topic = uniqueName('kafkasource-missing');
    const rec = await sink();
    const f = await fixture();
    f.store.apply(source('missing', { topics: [topic], initialOffset: 'earliest', sink: { uri: rec.url } }));
    await waitFor(() => condition(f.store, 'missing', 'Deployed')?.reason === 'TopicsNotFound', { timeoutMs: 10_000, what: 'TopicsNotFound' });
    expect(condition(f.store, 'missing', 'Deployed')?.message).toContain(topic);
    await withAdmin(kafkaBrokers(), (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] }));
    cleanups.push(() => withAdmin(kafkaBrokers(), (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => undefined));
    await ready(f.store, 'missing');
    const p = await producer();
    await p.send({ topic, messages: [{ value: 'x' }] });
    await waitFor(() => rec.requests.length === 1, { timeoutMs: 20_000, what: 'delivery' });
  });

  it('Kafka unreachable (a closed port): Deployed False KafkaUnreachable with the error, retried in the background, no crash', async () => {
    const port = await freePort();
    const rec = await sink();
    const f = await fixture();
    f.store.apply(source('nowhere', { bootstrapServers: [`127.0.0.1:${port}`], topics: ['orders'], sink: { uri: rec.url } }));
    const deployed = await waitFor(
      () => {
        const c = condition(f.store, 'nowhere', 'Deployed');
        return c?.reason === 'KafkaUnreachable' ? c : undefined;
      },
      { timeoutMs: 15_000, what: 'KafkaUnreachable' },
    );
    expect(deployed.status).toBe('False');
    expect(deployed.message).toContain(`127.0.0.1:${port}`);
    expect(condition(f.store, 'nowhere', 'Ready')?.status).toBe('False');
    expect(f.reconciler.running()).toEqual(['default/nowhere']);
    const errorsSoFar = f.errors.length;
    await waitFor(() => f.errors.length > errorsSoFar, { timeoutMs: 10_000, what: 'another connection attempt' });
    f.store.delete(KAFKASOURCES, 'default', 'nowhere');
    await waitFor(() => f.reconciler.running().length === 0, { what: 'runner stopped' });
  });
});
