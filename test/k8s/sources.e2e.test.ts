/**
 * Kubernetes mode, ContainerSource and SinkBinding end to end with kubectl: `wisp up --runtime kubernetes` against
 * the shared real control plane, the Knative docs' YAML (only the namespace set, images run by the test kubelet).
 * Wisp listens on the address Pods reach the host at (the kubelet's hostIP), so the `K_SINK` it gives a Pod — a
 * ksvc's or a Broker's address — works from inside the Pod's network namespace.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getUrl } from '../support/http.js';
import { k8sKubeconfig, kubectl, startTestKubelet } from '../support/k8s/index.js';
import type { Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import type { WispProcess } from '../support/wisp.js';
import { applyYaml, installCrdsAndNamespace, jsonpath, ksvcYaml, restartWisp, startWispOnKubernetes, TEST_IMAGES, waitKsvcReady, brokerTriggerYaml } from './helpers.js';

const ns = `wisp-src-${randomUUID().slice(0, 8)}`;
let kubelet: Kubelet | undefined;
let wisp: WispProcess | undefined;

interface Seen {
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** What the recorder ksvc received, through the activator by its address path. */
async function seenBy(service: string): Promise<Seen[]> {
  const res = await getUrl(`http://${kubelet!.network.hostIP}:${wisp!.ports.ingress}/${ns}/${service}/_seen`, 30_000);
  expect(res.status, res.body).toBe(200);
  return (JSON.parse(res.body) as Seen[]).filter((r) => r.method === 'POST');
}

function waitSeen(service: string, type: string, what: string): Promise<Seen[]> {
  return waitFor(
    async () => {
      const s = (await seenBy(service)).filter((r) => r.headers['ce-type'] === type);
      return s.length > 0 ? s : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what },
  );
}

function condition(kind: string, name: string, field: 'status' | 'message' = 'status', type = 'Ready'): Promise<string> {
  return jsonpath(kubectl, ns, `${kind}/${name}`, `{.status.conditions[?(@.type=="${type}")].${field}}`);
}

/** The env of the Deployment's first container, by name. */
async function deploymentEnv(name: string): Promise<Record<string, string> | undefined> {
  const raw = await jsonpath(kubectl, ns, `deploy/${name}`, '{.spec.template.spec.containers[0].env}');
  if (raw === '') return undefined;
  return Object.fromEntries((JSON.parse(raw) as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? '']));
}

describe('Kubernetes mode: ContainerSource and SinkBinding on a real control plane (e2e, kubectl)', () => {
  beforeAll(async () => {
    await installCrdsAndNamespace(kubectl, ns);
    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    wisp = await startWispOnKubernetes(k8sKubeconfig(), ns, { WISP_HOST: kubelet.network.hostIP, WISP_REDIS_PREFIX: `wisp-k8s-src-${randomUUID().slice(0, 8)}` });
  }, 180_000);

  afterAll(async () => {
    await wisp?.cleanup();
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kubelet?.stop({ deleteNode: true });
  }, 60_000);

  it("the Knative docs' ContainerSource: a Deployment owned by it, with K_SINK; its heartbeats reach the ksvc; a new sink rolls it; kubectl delete removes it", async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'event-display', namespace: ns, image: 'example.com/event-display' }));
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata:
  name: heartbeat-source
  namespace: ${ns}
spec:
  template:
    spec:
      containers:
        - image: gcr.io/knative-nightly/knative.dev/eventing/cmd/heartbeats:latest
          name: heartbeats
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
  ceOverrides:
    extensions:
      origin: heartbeat
`,
    );
    await waitKsvcReady(kubectl, ns, 'event-display');
    await waitFor(async () => (await condition('containersource', 'heartbeat-source')) === 'True', { timeoutMs: 60_000, intervalMs: 300, what: 'containersource READY True' });

    // kubectl's columns from the CRD, the sink from Wisp's status; the Deployment as Knative names and labels it.
    const address = `http://${kubelet!.network.hostIP}:${wisp!.ports.ingress}/${ns}/event-display`;
    expect((await kubectl(['get', 'containersources', '-n', ns])).stdout).toContain(address);
    const owner = await jsonpath(kubectl, ns, 'deploy/heartbeat-source-deployment', '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}');
    expect(owner).toBe('ContainerSource/heartbeat-source/true');
    expect(await jsonpath(kubectl, ns, 'deploy/heartbeat-source-deployment', '{.metadata.labels.sources\\.knative\\.dev/containerSource}')).toBe('heartbeat-source');
    expect(await deploymentEnv('heartbeat-source-deployment')).toEqual({ K_SINK: address, K_CE_OVERRIDES: '{"extensions":{"origin":"heartbeat"}}' });

    const beats = await waitSeen('event-display', 'dev.knative.eventing.samples.heartbeat', 'a heartbeat at event-display');
    expect(beats[0]!.headers['ce-origin']).toBe('heartbeat');
    expect(JSON.parse(beats[0]!.body)).toMatchObject({ id: expect.any(Number) });

    // A new sink is an update of the same Deployment: its Pods roll, the heartbeats go to the other ksvc.
    await applyYaml(kubectl, ksvcYaml({ name: 'event-display-2', namespace: ns, image: 'example.com/event-display' }));
    await waitKsvcReady(kubectl, ns, 'event-display-2');
    const patched = await kubectl(['patch', '-n', ns, 'containersource/heartbeat-source', '--type=merge', '-p', '{"spec":{"sink":{"ref":{"name":"event-display-2"}}}}']);
    expect(patched.code, patched.stderr).toBe(0);
    await waitFor(async () => (await deploymentEnv('heartbeat-source-deployment'))?.K_SINK === `${address}-2`, { timeoutMs: 30_000, intervalMs: 200, what: 'K_SINK of the new sink' });
    await waitSeen('event-display-2', 'dev.knative.eventing.samples.heartbeat', 'a heartbeat at event-display-2');
    expect(await jsonpath(kubectl, ns, 'containersource/heartbeat-source', '{.status.sinkUri}')).toBe(`${address}-2`);

    // Owned by the source: the garbage collector removes the Deployment (and its Pods) after kubectl delete.
    expect((await kubectl(['delete', '-n', ns, 'containersource/heartbeat-source'])).code).toBe(0);
    await waitFor(async () => (await jsonpath(kubectl, ns, 'deploy/heartbeat-source-deployment', '{.metadata.name}')) === '', {
      timeoutMs: 60_000,
      intervalMs: 300,
      what: 'the Deployment removed by the garbage collector',
    });
  });

  it('a SinkBinding binds Deployments by selector (one there before it, one created after); their Pods post to the Broker and the events reach a Trigger\'s ksvc; a restart patches nothing again; deleting the binding takes K_SINK away', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'broker-display', namespace: ns, image: 'example.com/event-display' }));
    const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    app: publisher
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: publisher
          image: example.com/post-to-sink
          env:
            - name: ROLE
              value: publisher
`;
    await applyYaml(
      kubectl,
      `${brokerTriggerYaml({ namespace: ns, trigger: 'from-publisher', type: 'dev.wisp.test.sink', subscriber: 'broker-display' })}---\n${deployment('publisher-1')}`,
    );
    await waitKsvcReady(kubectl, ns, 'broker-display');
    await waitFor(async () => (await condition('trigger', 'from-publisher')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'trigger READY True' });

    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: bind-publisher
  namespace: ${ns}
spec:
  subject:
    apiVersion: apps/v1
    kind: Deployment
    selector:
      matchLabels:
        app: publisher
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
  ceOverrides:
    extensions:
      origin: sinkbinding
`,
    );
    await waitFor(async () => (await condition('sinkbinding', 'bind-publisher')) === 'True', { timeoutMs: 60_000, intervalMs: 300, what: 'sinkbinding READY True' });
    expect(await condition('sinkbinding', 'bind-publisher', 'message')).toBe('bound 1 subject');
    const brokerUrl = `http://${kubelet!.network.hostIP}:${wisp!.ports.broker}/${ns}/default`;
    expect(await deploymentEnv('publisher-1')).toEqual({ ROLE: 'publisher', K_SINK: brokerUrl, K_CE_OVERRIDES: '{"extensions":{"origin":"sinkbinding"}}' });
    expect(await jsonpath(kubectl, ns, 'deploy/publisher-1', '{.metadata.annotations.wisp\\.dev/sinkbinding}')).toBe('bind-publisher');

    // The Pod rolled with K_SINK posts to the Broker; the Trigger delivers to its ksvc.
    const seen = await waitSeen('broker-display', 'dev.wisp.test.sink', 'an event from the bound Pod at broker-display');
    expect(seen[0]!.headers['ce-source']).toBe('fetch');

    // A Deployment that the selector matches, created after the binding, is bound when it appears.
    await applyYaml(kubectl, deployment('publisher-2'));
    await waitFor(async () => (await condition('sinkbinding', 'bind-publisher', 'message')) === 'bound 2 subjects', { timeoutMs: 60_000, intervalMs: 300, what: 'bound 2 subjects' });
    expect((await deploymentEnv('publisher-2'))?.K_SINK).toBe(brokerUrl);

    // A restarted Wisp finds both bound and patches nothing again (no roll); it binds a third one created after.
    const generations = () => Promise.all(['publisher-1', 'publisher-2'].map((d) => jsonpath(kubectl, ns, `deploy/${d}`, '{.metadata.generation}')));
    const before = await generations();
    await wisp!.stop();
    await restartWisp(wisp!, k8sKubeconfig(), ns);
    await applyYaml(kubectl, deployment('publisher-3'));
    await waitFor(async () => (await condition('sinkbinding', 'bind-publisher', 'message')) === 'bound 3 subjects', { timeoutMs: 60_000, intervalMs: 300, what: 'bound 3 subjects' });
    expect(await generations()).toEqual(before);

    // Deleting the binding takes the variables (and Wisp's annotation) away again; the user's own env stays.
    expect((await kubectl(['delete', '-n', ns, 'sinkbinding/bind-publisher'])).code).toBe(0);
    for (const name of ['publisher-1', 'publisher-2', 'publisher-3']) {
      await waitFor(async () => {
        const env = await deploymentEnv(name);
        return env !== undefined && !('K_SINK' in env) ? env : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200, what: `K_SINK removed from ${name}` });
      expect(await deploymentEnv(name)).toEqual({ ROLE: 'publisher' });
      expect(await jsonpath(kubectl, ns, `deploy/${name}`, '{.metadata.annotations.wisp\\.dev/sinkbinding}')).toBe('');
    }
  });

  it('a SinkBinding of Jobs: a Job created after it gets K_SINK as it is created (an admission policy: a Job cannot change later); deleting the binding deletes the policy', async () => {
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: bind-jobs
  namespace: ${ns}
spec:
  subject:
    apiVersion: batch/v1
    kind: Job
    selector:
      matchLabels:
        app: batch
  sink:
    uri: http://example.com/jobs
`,
    );
    await waitFor(async () => (await condition('sinkbinding', 'bind-jobs')) === 'True', { timeoutMs: 60_000, intervalMs: 300, what: 'sinkbinding bind-jobs READY True' });
    expect(await condition('sinkbinding', 'bind-jobs', 'message')).toBe('bound 0 subjects');
    const policy = `wisp-sinkbinding.${ns}.bind-jobs`;
    expect((await kubectl(['get', 'mutatingadmissionpolicy', policy, '-o', 'name'])).stdout.trim()).toBe(`mutatingadmissionpolicy.admissionregistration.k8s.io/${policy}`);

    // The API server starts applying a new policy within a moment: a Job created before that is not bound (and is
    // deleted again here), the next one is.
    const job = (name: string) => `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    app: batch
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: work
          image: example.com/post-to-sink
`;
    let n = 0;
    const bound = await waitFor(
      async () => {
        const name = `batch-${++n}`;
        await applyYaml(kubectl, job(name));
        const raw = await jsonpath(kubectl, ns, `job/${name}`, '{.spec.template.spec.containers[0].env}');
        if (raw.includes('K_SINK')) return { name, env: JSON.parse(raw) as unknown };
        await kubectl(['delete', '-n', ns, `job/${name}`, '--wait=false']);
        return undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'a Job created with K_SINK' },
    );
    expect(bound.env).toEqual([{ name: 'K_SINK', value: 'http://example.com/jobs' }]);
    await waitFor(async () => (await condition('sinkbinding', 'bind-jobs', 'message')) === 'bound 1 subject', { timeoutMs: 30_000, intervalMs: 300, what: 'bound 1 subject' });

    expect((await kubectl(['delete', '-n', ns, 'sinkbinding/bind-jobs'])).code).toBe(0);
    await waitFor(async () => (await kubectl(['get', 'mutatingadmissionpolicy', policy, '--ignore-not-found', '-o', 'name'])).stdout.trim() === '', {
      timeoutMs: 30_000,
      intervalMs: 300,
      what: 'the admission policy deleted with the binding',
    });
  });

  it('a SinkBinding of a ksvc: its next revision gets K_SINK (the ksvc as applied), and the binding says so', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'bound-svc', namespace: ns, image: 'example.com/event-display' }));
    await waitKsvcReady(kubectl, ns, 'bound-svc');
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: bind-svc
  namespace: ${ns}
spec:
  subject:
    apiVersion: serving.knative.dev/v1
    kind: Service
    name: bound-svc
  sink:
    uri: http://example.com/svc
`,
    );
    await waitFor(async () => (await condition('sinkbinding', 'bind-svc', 'message')) === 'bound 1 subject', { timeoutMs: 60_000, intervalMs: 300, what: 'bind-svc bound 1 subject' });
    expect(await condition('sinkbinding', 'bind-svc')).toBe('True');
    expect(await jsonpath(kubectl, ns, 'ksvc/bound-svc', '{.status.latestCreatedRevisionName}')).toBe('bound-svc-00002');
    expect(await deploymentEnv('bound-svc-00002-deployment')).toMatchObject({ K_SINK: 'http://example.com/svc' });
    // The user's ksvc is not patched: its template has no K_SINK, its generation is the one kubectl gave it.
    expect(await jsonpath(kubectl, ns, 'ksvc/bound-svc', '{.spec.template.spec.containers[0].env}')).not.toContain('K_SINK');
    expect(await jsonpath(kubectl, ns, 'ksvc/bound-svc', '{.metadata.generation}')).toBe('1');
  });
});
