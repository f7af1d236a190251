/**
 * KafkaSource through `wisp up` and the CLI, on the real Kafka of the `kafka` vitest project: records produced with
 * kcat reach a Recorder sink, `wisp get kafkasources` shows the topic, the sink and READY True, and a platform
 * restart resumes the consumer group where it left off (nothing delivered twice, nothing skipped).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, kcatProduce, uniqueName, withAdmin } from '../support/kafka/index.js';
import { Recorder } from '../support/recorder.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { yamlFile } from './helpers.js';

const kcat = (topic: string, lines: string[], extra: string[] = []): Promise<void> => kcatProduce(kafkaBrokers(), ['-t', topic, ...extra], lines);

describe('KafkaSource (e2e)', () => {
  let wisp: WispProcess;
  let sub: Recorder;
  const topic = uniqueName('orders');
  beforeAll(async () => {
    await withAdmin(kafkaBrokers(), (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] }));
    sub = await new Recorder().start();
    wisp = await WispProcess.create();
    await wisp.start();
  }, 60_000);
  afterAll(async () => {
    await wisp.cleanup();
    await sub.stop();
    await withAdmin(kafkaBrokers(), (admin) => admin.deleteTopics({ topics: [topic] })).catch(() => undefined);
  });

  it('delivers kcat records to the sink, shows READY True in wisp get, and resumes after a restart', async () => {
    await kcat(topic, ['first:{"n":1}'], ['-K:', '-H', 'content-type=application/json']);
    const source = `apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: {name: orders, namespace: default}
spec:
  bootstrapServers: [${kafkaBrokers()}]
  topics: [${topic}]
  consumerGroup: ${uniqueName('e2e-group')}
  initialOffset: earliest
  sink: {uri: ${sub.url}}
`;
    const applied = await wisp.cli(['apply', '-f', await yamlFile(source), '--wait', '--timeout', '30s']);
    expect(applied.code, applied.stderr).toBe(0);
    // The consumer joins its group in the background: READY is Unknown (Connecting) until then.
    const row = new RegExp(`orders\\s+${topic}\\s+http://127\\.0\\.0\\.1:${sub.port}\\s+True`);
    const listed = await waitFor(
      async () => {
        const r = await wisp.cli(['get', 'kafkasources']);
        return row.test(r.stdout) ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'READY True in wisp get kafkasources' },
    );
    expect(listed.stdout).toMatch(/NAME\s+TOPICS\s+SINK\s+READY\s+REASON/);

    const first = await waitFor(() => sub.requests.find((r) => r.headers['ce-id'] === 'partition:0/offset:0'), { timeoutMs: 20_000, what: 'first record' });
    expect(first.headers).toMatchObject({ 'ce-type': 'dev.knative.kafka.event', 'ce-key': 'first', 'content-type': 'application/json' });
    expect(first.headers['ce-source']).toBe(`/apis/v1/namespaces/default/kafkasources/orders#${topic}`);
    expect(JSON.parse(first.body)).toEqual({ n: 1 });

    // Restart the platform: the group resumes after the committed record.
    expect(await wisp.stop()).toBe(0);
    await kcat(topic, ['second:{"n":2}'], ['-K:', '-H', 'content-type=application/json']);
    await wisp.start();
    await waitFor(() => sub.requests.find((r) => r.headers['ce-id'] === 'partition:0/offset:1'), { timeoutMs: 30_000, what: 'second record after restart' });
    expect(sub.requests.map((r) => r.headers['ce-id'])).toEqual(['partition:0/offset:0', 'partition:0/offset:1']);
  }, 90_000);

  it('rejects a KafkaSource without topics, naming spec.topics', async () => {
    const bad = `apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata: {name: bad, namespace: default}
spec:
  bootstrapServers: [127.0.0.1:9092]
  sink: {uri: http://127.0.0.1:9/}
`;
    const res = await wisp.cli(['apply', '-f', await yamlFile(bad)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.topics');
  });
});
