/**
 * A Kafka outage end to end: a dedicated Kafka (not the shared one: this test takes it down) under `wisp up`
 * with a Kafka-class Broker. While Kafka is down the ingress answers 503 with Retry-After, the Broker reports
 * BackendUnavailable and the platform keeps running; once Kafka is back the Broker turns Ready by itself and
 * every event that got a 202, before or after the outage, is delivered.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { yamlFile } from '../../e2e/helpers.js';
import { httpRequest, type SimpleResponse } from '../../support/http.js';
import { startKafka, type RunningKafka } from '../../support/kafka/index.js';
import { Recorder } from '../../support/recorder.js';
import { waitFor } from '../../support/wait.js';
import { WispProcess } from '../../support/wisp.js';

describe('Kafka broker class through a Kafka outage (e2e)', () => {
  const name = `outage-${randomUUID().slice(0, 6)}`;
  let kafka: RunningKafka;
  let wisp: WispProcess;
  let sub: Recorder;

  beforeAll(async () => {
    kafka = await startKafka({ heapMb: 384 });
    sub = await new Recorder().start();
    wisp = await WispProcess.create({ WISP_KAFKA_BROKERS: kafka.brokers });
    await wisp.start();
    const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: default
  annotations: {eventing.knative.dev/broker.class: Kafka}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: ${name}, namespace: default}
spec:
  broker: ${name}
  subscriber: {uri: ${sub.url}}
`;
    const res = await wisp.cli(['apply', '-f', await yamlFile(yaml), '--wait', '--timeout', '60s']);
    expect(res.code, res.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await wisp?.cleanup();
    await sub?.stop();
    await kafka?.stop();
  }, 60_000);

  const post = (id: string): Promise<SimpleResponse> =>
    httpRequest({
      port: wisp.ports.broker,
      path: `/default/${name}`,
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/outage', 'ce-type': 'dev.example.order', 'content-type': 'application/json' },
      body: `{"id":"${id}"}`,
      timeoutMs: 30_000,
    });
  const brokerRow = async (): Promise<string> => (await wisp.cli(['get', 'brokers', name])).stdout;

  it('answers 503 while Kafka is down, reports it, and delivers every accepted event once Kafka is back', async () => {
    const accepted: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await post(`before-${i}`);
      expect(res.status, res.body).toBe(202);
      accepted.push(`before-${i}`);
    }

    await kafka.down();
    // The first produce after the outage may still be retried inside its bound; soon every POST is refused.
    const refused = await waitFor(
      async () => {
        const id = `during-${randomUUID().slice(0, 8)}`;
        const res = await post(id);
        if (res.status === 202) accepted.push(id);
        return res.status === 503 ? res : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'a 503 from the ingress' },
    );
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body).error).toMatch(/Kafka|kafka|broker/);
    await waitFor(async () => /False\s+BackendUnavailable/.test(await brokerRow()), { timeoutMs: 60_000, what: 'Broker Ready=False BackendUnavailable' });
    expect((await fetch(`${wisp.server}/readyz`)).status).toBe(200);

    await kafka.up();
    // Nobody publishes meanwhile: the backend's own probe must notice Kafka is back.
    await waitFor(async () => /\s+True\s+/.test(await brokerRow()), { timeoutMs: 60_000, intervalMs: 500, what: 'Broker Ready again' }).catch(async (err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${(await wisp.cli(['describe', 'broker', name])).stdout}`);
    });
    await waitFor(async () => (await post('after-probe')).status === 202, { timeoutMs: 60_000, intervalMs: 500, what: 'the ingress accepting again' });
    accepted.push('after-probe');
    for (let i = 0; i < 20; i++) {
      const res = await post(`after-${i}`);
      expect(res.status, res.body).toBe(202);
      accepted.push(`after-${i}`);
    }

    const want = accepted;
    await waitFor(
      () => {
        const got = new Set(sub.requests.map((r) => String(r.headers['ce-id'])));
        return want.every((id) => got.has(id));
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `all ${want.length} accepted events delivered` },
    );
    const ids = sub.requests.map((r) => String(r.headers['ce-id']));
    console.log(`Kafka outage: ${want.length} accepted, ${want.length} delivered, ${ids.length - new Set(ids).size} duplicates`);
  }, 300_000);
});
