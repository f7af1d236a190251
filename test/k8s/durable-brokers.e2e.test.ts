/**
 * Kubernetes mode with a real Kafka: a KafkaSource applied with kubectl, and durable brokers across a crash: `wisp up --runtime kubernetes` with a Redis-class and a
 * Kafka-class Broker (written with kubectl into the real API server), events posted at a steady rate while the
 * process is killed with SIGKILL and started again. Every event that got a 202 must be delivered, as embedded
 * (test/integration/crash). The Brokers and Triggers come back from the API server after the restart; the events
 * from Redis and Kafka. This file starts its own Kafka (the k8s project has no Kafka of its own) and stops it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashScenario, brokerAndTriggerYaml } from '../integration/crash/scenario.js';
import { k8sKubeconfig, kubectl } from '../support/k8s/index.js';
import { kcatProduce, startKafka, uniqueName, withAdmin, type RunningKafka } from '../support/kafka/index.js';
import { Recorder } from '../support/recorder.js';
import { deleteKeys } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import type { WispProcess } from '../support/wisp.js';
import { applyYaml, conditionStatus, installCrdsAndNamespace, startWispOnKubernetes } from './helpers.js';

const ns = `wisp-durable-${randomUUID().slice(0, 8)}`;
const redisPrefix = `wisp-k8s-crash-${randomUUID().slice(0, 8)}`;
let kafka: RunningKafka | undefined;

const startArgs = (): string[] => ['--runtime', 'kubernetes', '--kubeconfig', k8sKubeconfig(), '--namespace-scope', ns];

async function applyWithKubectl(_wisp: WispProcess, o: { brokerClass: string; broker: string; subscriber: string; namespace: string }): Promise<void> {
  await applyYaml(kubectl, brokerAndTriggerYaml(o));
  await waitFor(async () => (await conditionStatus(kubectl, o.namespace, `trigger/${o.broker}-all`)) === 'True', {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: `trigger ${o.namespace}/${o.broker}-all READY True`,
  });
}

describe('Kubernetes mode: KafkaSource, and Redis and Kafka brokers across kill -9 of wisp up (e2e)', () => {
  beforeAll(async () => {
    await installCrdsAndNamespace(kubectl, ns);
    kafka = await startKafka();
  }, 180_000);

  afterAll(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kafka?.stop();
    await deleteKeys(redisPrefix);
  }, 60_000);

  it("a KafkaSource written with kubectl runs in Wisp's control plane: READY True, and records produced to its topic reach its sink", async () => {
    const topic = uniqueName('k8s-kafkasource');
    await withAdmin(kafka!.brokers, (admin) => admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] }));
    const recorder = await new Recorder().start();
    const wisp = await startWispOnKubernetes(k8sKubeconfig(), ns, { WISP_REDIS_PREFIX: redisPrefix });
    try {
      await applyYaml(
        kubectl,
        `apiVersion: sources.knative.dev/v1beta1
kind: KafkaSource
metadata:
  name: orders
  namespace: ${ns}
spec:
  consumerGroup: ${uniqueName('k8s-group')}
  bootstrapServers:
    - ${kafka!.brokers}
  topics:
    - ${topic}
  initialOffset: earliest
  sink:
    uri: ${recorder.url}
`,
      );
      await waitFor(async () => (await conditionStatus(kubectl, ns, 'kafkasource/orders')) === 'True', { timeoutMs: 60_000, intervalMs: 300, what: 'kafkasource READY True' });
      await kcatProduce(kafka!.brokers, ['-t', topic, '-K:'], ['order-1:{"item":"book"}']);
      const got = await waitFor(() => recorder.requests.find((r) => r.headers['ce-type'] === 'dev.knative.kafka.event'), { timeoutMs: 30_000, what: 'the record at the sink' });
      expect(got.headers['ce-source']).toBe(`/apis/v1/namespaces/${ns}/kafkasources/orders#${topic}`);
      expect(got.body).toBe('{"item":"book"}');
    } finally {
      await wisp.cleanup();
      await recorder.stop();
    }
  }, 120_000);

  for (const brokerClass of ['Redis', 'Kafka'] as const) {
    it(`a ${brokerClass}-class Broker delivers at least once every event that got a 202, across a SIGKILL`, async () => {
      const outcome = await crashScenario({
        env: { WISP_REDIS_PREFIX: redisPrefix, WISP_KAFKA_BROKERS: kafka!.brokers },
        brokerClass,
        // 5 s of events after the kill: a restart in Kubernetes mode lists the cluster before it takes events again.
        total: 1000,
        ratePerSecond: 100,
        expectAll: true,
        deliveryTimeoutMs: 120_000,
        namespace: ns,
        startArgs: startArgs(),
        apply: applyWithKubectl,
      });
      console.log(`Kubernetes mode ${brokerClass} crash test: ${outcome.sent} sent, ${outcome.accepted.size} accepted, ${outcome.lost.length} lost, ${outcome.duplicates} duplicates`);
      // Most of the stream before the kill was taken, and the restarted platform takes events again.
      expect(outcome.acceptedBeforeKill).toBeGreaterThan(outcome.killAfter * 0.8);
      expect(outcome.acceptedAfterRestart).toBeGreaterThan(0);
      expect(outcome.lost).toEqual([]);
    }, 240_000);
  }
});
