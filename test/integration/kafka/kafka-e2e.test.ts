import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { yamlFile } from '../../e2e/helpers.js';
import { httpRequest } from '../../support/http.js';
import { kafkaBrokers, withAdmin } from '../../support/kafka/index.js';
import { Recorder } from '../../support/recorder.js';
import { waitFor } from '../../support/wait.js';
import { WispProcess } from '../../support/wisp.js';

describe('the Kafka broker class in wisp up (e2e on a real Kafka)', () => {
  const name = `orders-${randomUUID().slice(0, 6)}`;
  let wisp: WispProcess;
  let sub: Recorder;

  beforeAll(async () => {
    sub = await new Recorder().start();
    wisp = await WispProcess.create({ WISP_KAFKA_BROKERS: kafkaBrokers() });
    await wisp.start();
    const yaml = `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}-config, namespace: default}
data:
  default.topic.partitions: "3"
  default.topic.replication.factor: "1"
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: default
  annotations:
    eventing.knative.dev/broker.class: Kafka
spec:
  config: {apiVersion: v1, kind: ConfigMap, name: ${name}-config}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}-ordered
  namespace: default
  annotations:
    kafka.eventing.knative.dev/delivery.order: ordered
spec:
  broker: ${name}
  subscriber: {uri: ${sub.url}}
`;
    const res = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(res.code, res.stderr).toBe(0);
    await waitFor(async () => (await wisp.cli(['get', 'triggers', `${name}-ordered`])).stdout.includes('True'), { timeoutMs: 60_000, what: 'trigger Ready' });
  }, 120_000);

  afterAll(async () => {
    await wisp?.cleanup();
    await sub?.stop();
  });

  it('delivers curl-posted events; the topic and one consumer group per Trigger exist; a partitionkey keeps order', async () => {
    const post = (id: string, key: string) =>
      httpRequest({
        port: wisp.ports.broker,
        path: `/default/${name}`,
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': 'dev.example.order', 'ce-partitionkey': key, 'content-type': 'application/json' },
        body: '{}',
      });
    for (let i = 0; i < 30; i++) expect((await post(`a-${i}`, 'customer-a')).status).toBe(202);
    for (let i = 0; i < 10; i++) expect((await post(`b-${i}`, 'customer-b')).status).toBe(202);
    await waitFor(() => sub.requests.length >= 40, { timeoutMs: 30_000, what: '40 deliveries' });
    const ids = sub.requests.map((r) => String(r.headers['ce-id']));
    expect(ids.filter((id) => id.startsWith('a-'))).toEqual(Array.from({ length: 30 }, (_, i) => `a-${i}`));
    expect(ids.filter((id) => id.startsWith('b-'))).toEqual(Array.from({ length: 10 }, (_, i) => `b-${i}`));

    await withAdmin(kafkaBrokers(), async (admin) => {
      const meta = await admin.fetchTopicMetadata({ topics: [`knative-broker-default-${name}`] });
      expect(meta.topics[0]?.partitions.length).toBe(3);
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      expect(groups).toContain(`knative-trigger-default-${name}-ordered`);
    });
  });
});
