/**
 * Kubernetes mode when the API server goes away: `kill -9` of kube-apiserver under a running `wisp up --runtime
 * kubernetes`, then its restart (same port, certificates and etcd data). Wisp must reconnect, re-list and converge by
 * itself, without a restart of its own. A control plane of this file's own, since the test breaks it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerAndTriggerYaml } from '../integration/crash/scenario.js';
import { httpRequest } from '../support/http.js';
import { Recorder } from '../support/recorder.js';
import { startControlPlane, type ControlPlane } from '../support/k8s/index.js';
import { startKubelet, type Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import type { WispProcess } from '../support/wisp.js';
import { applyYaml, conditionStatus, CRDS_DIR, jsonpath, ksvcYaml, startWispOnKubernetes, TEST_IMAGES, waitKsvcReady, type Kubectl } from './helpers.js';

const ns = 'restart';
let cp: ControlPlane | undefined;
let kubelet: Kubelet | undefined;
let wisp: WispProcess | undefined;
let kubectl: Kubectl;
let recorder: Recorder | undefined;

function postEvent(id: string) {
  return httpRequest({
    port: wisp!.ports.broker,
    path: `/${ns}/orders`,
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': 'dev.example.order', 'content-type': 'application/json' },
    body: '{}',
  });
}

function triggerReady(name: string): Promise<boolean> {
  return conditionStatus(kubectl, ns, `trigger/${name}`).then((s) => s === 'True');
}

describe('Kubernetes mode: kill -9 of the API server and its restart (e2e)', () => {
  beforeAll(async () => {
    cp = await startControlPlane();
    kubectl = (args, opts) => cp!.kubectl(args, opts);
    expect((await kubectl(['apply', '-f', CRDS_DIR])).code).toBe(0);
    expect((await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'])).code).toBe(0);
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    kubelet = await startKubelet({ kubeconfigPath: cp.kubeconfigPath, nodeName: 'restart-node', namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    wisp = await startWispOnKubernetes(cp.kubeconfigPath, ns);
    recorder = await new Recorder().start();
  }, 180_000);

  afterAll(async () => {
    await wisp?.cleanup();
    await kubelet?.stop({ deleteNode: true });
    await cp?.stop();
    await recorder?.stop();
  }, 60_000);

  it('Wisp keeps serving requests and events through the outage, then reconnects, re-lists and converges on what changed, without a restart of its own', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'before', annotations: { 'autoscaling.knative.dev/min-scale': '1' } }));
    await waitKsvcReady(kubectl, ns, 'hello');
    const host = `hello.${ns}.localhost`;
    expect((await httpRequest({ port: wisp!.ports.ingress, host })).body).toBe('Hello before! (revision hello-00001)\n');
    const wispPid = wisp!.pid;
    // A Broker and a Trigger delivering to a local recorder, and a second Trigger only after the restart.
    await applyYaml(kubectl, brokerAndTriggerYaml({ brokerClass: 'Memory', broker: 'orders', subscriber: recorder!.url, namespace: ns }));
    await waitFor(() => triggerReady('orders-all'), { timeoutMs: 30_000, intervalMs: 200, what: 'trigger orders-all READY True' });

    await cp!.killApiServer();
    // The data plane keeps its routing, endpoints, Brokers and Triggers while the API server is away.
    const during = await httpRequest({ port: wisp!.ports.ingress, host });
    expect(during.status).toBe(200);
    expect((await postEvent('during-outage')).status).toBe(202);
    await waitFor(() => recorder!.requests.some((r) => r.headers['ce-id'] === 'during-outage'), { timeoutMs: 10_000, what: 'the event posted during the outage delivered' });
    await new Promise((r) => setTimeout(r, 2_000));
    await cp!.startApiServer();

    // Eventing resumes too: a Trigger applied after the restart becomes Ready and gets the next event.
    await applyYaml(
      kubectl,
      brokerAndTriggerYaml({ brokerClass: 'Memory', broker: 'orders', subscriber: `${recorder!.url}/second`, namespace: ns }).replace(/name: orders-all/, 'name: orders-second'),
    );
    await waitFor(() => triggerReady('orders-second'), { timeoutMs: 60_000, intervalMs: 300, what: 'trigger orders-second READY True after the restart' });
    expect((await postEvent('after-restart')).status).toBe(202);
    await waitFor(() => recorder!.requests.filter((r) => r.headers['ce-id'] === 'after-restart').length === 2, {
      timeoutMs: 10_000,
      what: 'the event after the restart delivered to both Triggers',
    });

    // A change made after the restart reaches Wisp through its resumed (or re-listed) watches.
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'after', annotations: { 'autoscaling.knative.dev/min-scale': '1' } }));
    await waitFor(async () => (await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.latestReadyRevisionName}')) === 'hello-00002', {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'hello-00002 ready after the API server restart',
    });
    await waitKsvcReady(kubectl, ns, 'hello');
    await waitFor(async () => (await httpRequest({ port: wisp!.ports.ingress, host })).body === 'Hello after! (revision hello-00002)\n', {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'traffic on hello-00002',
    });
    expect(wisp!.pid).toBe(wispPid);
    expect(wisp!.child?.exitCode).toBeNull();
    const revisions = (await kubectl(['get', 'revisions', '-n', ns, '-o', 'name'])).stdout.split('\n').filter(Boolean).sort();
    expect(revisions).toEqual(['revision.serving.knative.dev/hello-00001', 'revision.serving.knative.dev/hello-00002']);
  }, 180_000);
});
