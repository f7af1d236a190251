import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { getJson, yamlFile } from './helpers.js';

const broker = (cls: string, name = 'classy'): string => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: default
  annotations:
    eventing.knative.dev/broker.class: ${cls}
`;

describe('broker classes (e2e)', () => {
  let wisp: WispProcess;
  beforeAll(async () => {
    wisp = await WispProcess.create({ WISP_KAFKA_BROKERS: '' });
    await wisp.start();
  }, 60_000);
  afterAll(async () => {
    await wisp.cleanup();
  });

  it('apply --wait waits until the Broker is Ready and says where it listens', async () => {
    const res = await wisp.cli(['apply', '-f', await yamlFile(broker('Memory', 'waited')), '--wait', '--timeout', '30s']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`broker waited ready at http://127.0.0.1:${wisp.ports.broker}/default/waited`);
  });

  it('rejects a change of a Broker class annotation as immutable', async () => {
    expect((await wisp.cli(['apply', '-f', await yamlFile(broker('MTChannelBasedBroker'))])).code).toBe(0);
    const res = await wisp.cli(['apply', '-f', await yamlFile(broker('Redis'))]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('eventing.knative.dev/broker.class');
    expect(res.stderr).toMatch(/immutable/);
  });

  it('says how to configure Kafka when a Kafka-class Broker is applied without WISP_KAFKA_BROKERS', async () => {
    expect((await wisp.cli(['apply', '-f', await yamlFile(broker('Kafka', 'kafkaless'))])).code).toBe(0);
    const ready = await waitFor(async () => {
      const b = await getJson(wisp, '/apis/eventing.knative.dev/v1/namespaces/default/brokers/kafkaless');
      return b.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False');
    });
    expect(ready.reason).toBe('BackendUnavailable');
    expect(ready.message).toContain('WISP_KAFKA_BROKERS');
  });
});
