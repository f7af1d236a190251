/**
 * Kubernetes mode, Eventing end to end with kubectl: `wisp up --runtime kubernetes` against the shared real control
 * plane; Brokers and Triggers are objects in the API server (Wisp's CRDs), written with kubectl as the Knative docs
 * write them (only the image changed), and reconciled by the same eventing reconciler as embedded. The subscriber is
 * a ksvc run by the test kubelet, so an event also scales it from zero through the activator.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getUrl, httpRequest } from '../support/http.js';
import { k8sKubeconfig, kubectl, startTestKubelet } from '../support/k8s/index.js';
import type { Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import type { WispProcess } from '../support/wisp.js';
import {
  applyYaml,
  conditionStatus,
  deploymentReplicas,
  FAST_AUTOSCALER,
  installCrdsAndNamespace,
  jsonpath,
  ksvcYaml,
  startWispOnKubernetes,
  TEST_IMAGES,
  waitKsvcReady,
  brokerTriggerYaml,
} from './helpers.js';

const ns = `wisp-ev-${randomUUID().slice(0, 8)}`;
let kubelet: Kubelet | undefined;
let wisp: WispProcess | undefined;

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function seenBy(service: string): Promise<Seen[]> {
  const res = await httpRequest({ port: wisp!.ports.ingress, host: `${service}.${ns}.localhost`, path: '/_seen', timeoutMs: 30_000 });
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as Seen[];
}

function postEvent(broker: string, id: string, type: string, data: object) {
  return httpRequest({
    port: wisp!.ports.broker,
    path: `/${ns}/${broker}`,
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e/curl', 'ce-type': type, 'content-type': 'application/json' },
    body: JSON.stringify(data),
  });
}

const condition = (kind: string, name: string): Promise<string> => conditionStatus(kubectl, ns, `${kind}/${name}`);

describe('Kubernetes mode: Eventing on a real control plane (e2e, kubectl)', () => {
  beforeAll(async () => {
    await installCrdsAndNamespace(kubectl, ns);
    await applyYaml(kubectl, FAST_AUTOSCALER);
    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    wisp = await startWispOnKubernetes(k8sKubeconfig(), ns, { WISP_REDIS_PREFIX: `wisp-k8s-ev-${randomUUID().slice(0, 8)}` });
  }, 180_000);

  afterAll(async () => {
    await wisp?.cleanup();
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kubelet?.stop({ deleteNode: true });
  }, 60_000);

  it("the Knative docs' Broker + Trigger to a ksvc: READY True with the broker ingress URL; a matching event reaches the Pod, scaled from zero; a filtered-out one does not", async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'event-display', namespace: ns, image: 'example.com/event-display' }));
    await applyYaml(
      kubectl,
      brokerTriggerYaml({ namespace: ns, trigger: 'my-service-trigger', type: 'dev.knative.samples.helloworld', subscriber: 'event-display' }),
    );
    await waitKsvcReady(kubectl, ns, 'event-display');
    await waitFor(async () => (await condition('broker', 'default')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'broker READY True' });
    await waitFor(async () => (await condition('trigger', 'my-service-trigger')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'trigger READY True' });

    // kubectl's columns come from the CRDs; the values from Wisp's status, written through the status subresource.
    const brokerUrl = `http://127.0.0.1:${wisp!.ports.broker}/${ns}/default`;
    const brokers = await kubectl(['get', 'brokers', '-n', ns]);
    expect(brokers.stdout).toMatch(/^NAME\s+URL\s+AGE\s+READY\s+REASON/m);
    expect(brokers.stdout).toContain(brokerUrl);
    const triggers = await kubectl(['get', 'triggers', '-n', ns]);
    expect(triggers.stdout).toMatch(/^NAME\s+BROKER\s+SUBSCRIBER_URI\s+AGE\s+READY\s+REASON/m);
    const subscriberUri = await jsonpath(kubectl, ns, 'trigger/my-service-trigger', '{.status.subscriberUri}');
    expect(subscriberUri).toBe(`http://127.0.0.1:${wisp!.ports.ingress}/${ns}/event-display`);

    // With no traffic the subscriber goes to zero; the event brings it back.
    await waitFor(async () => (await deploymentReplicas(kubectl, ns, 'event-display-00001-deployment')) === 0, {
      timeoutMs: 60_000,
      intervalMs: 300,
      what: 'event-display scaled to zero',
    });
    expect((await postEvent('default', 'skip-1', 'dev.example.other', { n: 0 })).status).toBe(202);
    const accepted = await postEvent('default', 'hello-1', 'dev.knative.samples.helloworld', { msg: 'Hello Knative!' });
    expect(accepted.status, accepted.body).toBe(202);

    const seen = await waitFor(
      async () => {
        const s = (await seenBy('event-display')).filter((r) => r.method === 'POST');
        return s.length > 0 ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the event at the event-display Pod' },
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers['ce-id']).toBe('hello-1');
    expect(seen[0]!.headers['ce-type']).toBe('dev.knative.samples.helloworld');
    expect(JSON.parse(seen[0]!.body)).toEqual({ msg: 'Hello Knative!' });
    expect(await deploymentReplicas(kubectl, ns, 'event-display-00001-deployment')).toBeGreaterThanOrEqual(1);
  });

  it('a Trigger to a v1 Service: its URI is the cluster DNS name; Wisp, outside the cluster, delivers to a ready endpoint of the Service', async () => {
    await applyYaml(
      kubectl,
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: plain-display
  namespace: ${ns}
spec:
  replicas: 1
  selector:
    matchLabels: { app: plain-display }
  template:
    metadata:
      labels: { app: plain-display }
    spec:
      containers:
        - name: display
          image: example.com/event-display
          env:
            - { name: PORT, value: "8080" }
          ports:
            - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: plain-display
  namespace: ${ns}
spec:
  selector: { app: plain-display }
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-plain-service
  namespace: ${ns}
spec:
  broker: default
  filter:
    attributes:
      type: dev.example.plain
  subscriber:
    ref:
      apiVersion: v1
      kind: Service
      name: plain-display
    uri: /events
`,
    );
    await waitFor(async () => (await condition('trigger', 'to-plain-service')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'trigger to-plain-service READY True' });
    expect(await jsonpath(kubectl, ns, 'trigger/to-plain-service', '{.status.subscriberUri}')).toBe(`http://plain-display.${ns}.svc.cluster.local/events`);
    const podIp = await waitFor(
      async () => {
        const ip = await jsonpath(kubectl, ns, 'pods', '{.items[?(@.metadata.labels.app=="plain-display")].status.podIP}');
        const ready = await jsonpath(kubectl, ns, 'endpointslices', '{.items[?(@.metadata.labels.kubernetes\\.io/service-name=="plain-display")].endpoints[0].conditions.ready}');
        return ip !== '' && ready === 'true' ? ip : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'plain-display Pod ready in its EndpointSlice' },
    );
    const accepted = await postEvent('default', 'plain-1', 'dev.example.plain', { to: 'a v1 Service' });
    expect(accepted.status, accepted.body).toBe(202);
    const seen = await waitFor(
      async () => {
        const res = await getUrl(`http://${podIp}:8080/_seen`);
        const s = (JSON.parse(res.body) as Seen[]).filter((r) => r.method === 'POST');
        return s.length > 0 ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'the event at the plain-display Pod' },
    );
    expect(seen.map((s) => [s.path, s.headers['ce-id'], s.headers.host])).toEqual([['/events', 'plain-1', `plain-display.${ns}.svc.cluster.local`]]);
  });

  it("the Knative docs' PingSource to a ksvc is READY True with the ksvc's address as its sinkUri (its runner is the embedded one)", async () => {
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: test-ping-source
  namespace: ${ns}
spec:
  schedule: "*/1 * * * *"
  contentType: "application/json"
  data: '{"message": "Hello world!"}'
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
`,
    );
    await waitFor(async () => (await condition('pingsource', 'test-ping-source')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'pingsource READY True' });
    expect(await jsonpath(kubectl, ns, 'pingsource/test-ping-source', '{.status.sinkUri}')).toBe(`http://127.0.0.1:${wisp!.ports.ingress}/${ns}/event-display`);
  });

  it('a Trigger to a v1 Service that does not exist is READY False, saying so', async () => {
    await applyYaml(
      kubectl,
      `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-missing-service
  namespace: ${ns}
spec:
  broker: default
  subscriber:
    ref: { apiVersion: v1, kind: Service, name: not-there }
`,
    );
    await waitFor(async () => (await condition('trigger', 'to-missing-service')) === 'False', { timeoutMs: 30_000, intervalMs: 200, what: 'trigger to-missing-service READY False' });
    const message = await jsonpath(kubectl, ns, 'trigger/to-missing-service', '{.status.conditions[?(@.type=="Ready")].message}');
    expect(message).toContain('services "not-there" not found');
  });

  it('a Broker of a class this Wisp has no cluster for is READY False with the reason, and events posted to it get 503 saying why', async () => {
    await applyYaml(
      kubectl,
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: kafka-less
  namespace: ${ns}
  annotations:
    eventing.knative.dev/broker.class: Kafka
`,
    );
    await waitFor(async () => (await condition('broker', 'kafka-less')) === 'False', { timeoutMs: 30_000, intervalMs: 200, what: 'broker kafka-less READY False' });
    const message = await jsonpath(kubectl, ns, 'broker/kafka-less', '{.status.conditions[?(@.type=="Ready")].message}');
    expect(message).toContain('WISP_KAFKA_BROKERS');
    // As embedded: the broker stays routable and producers are told to retry later, with the reason.
    const res = await postEvent('kafka-less', 'k-1', 'dev.example.x', {});
    expect(res.status).toBe(503);
    expect(res.body).toContain('WISP_KAFKA_BROKERS');
  });
});
