/**
 * The split install, as manifests/ runs it (one Deployment per component), here as four local processes against the
 * shared real control plane: `wisp up --runtime kubernetes --component controller` (reconcilers, autoscaler and its
 * stats endpoint), two `--component activator` (the Service ingress, each reporting its own concurrency to the
 * controller over HTTP) and one `--component broker` (broker ingress + dispatcher). They share nothing but the API
 * server and the network. Each runs with its own ServiceAccount's token from manifests/ (not admin): `wisp` for the
 * controller, the read-only `wisp-activator` and `wisp-broker` for the data plane, so a missing RBAC rule fails here,
 * and no process may log "forbidden". The steps run in order on the same cluster state.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { kubectl, startTestKubelet } from '../support/k8s/index.js';
import type { Kubelet } from '../support/k8s/kubelet.js';
import { freePort, waitFor } from '../support/wait.js';
import { serviceAccountKubeconfig } from '../support/k8s/service-account.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { applyYaml, conditionStatus, deploymentReplicas, FAST_AUTOSCALER, installCrdsAndNamespace, jsonpath, ksvcYaml, TEST_IMAGES, waitKsvcReady, brokerTriggerYaml } from './helpers.js';

const ns = `wisp-split-${randomUUID().slice(0, 8)}`;
let kubelet: Kubelet | undefined;
let controller: WispProcess | undefined;
let activatorA: WispProcess | undefined;
let activatorB: WispProcess | undefined;
let broker: WispProcess | undefined;
let statsPort = 0;
let dir: string | undefined;
/** The kubeconfig of each component's ServiceAccount. */
const kubeconfigs: Record<'controller' | 'activator' | 'broker', string> = { controller: '', activator: '', broker: '' };

const scope = (component: keyof typeof kubeconfigs): string[] => ['--runtime', 'kubernetes', '--kubeconfig', kubeconfigs[component], '--namespace-scope', ns, '--component', component];
const INSTALL = ['100-namespaces.yaml', '200-serviceaccount.yaml', '201-rbac.yaml', '202-rbac-dataplane.yaml'].map((f) => join(ROOT, 'manifests', f));

function viaActivator(a: WispProcess, host: string, path = '/', timeoutMs = 30_000) {
  return httpRequest({ port: a.ports.ingress, host, path, timeoutMs });
}

async function startController(): Promise<void> {
  await controller!.start([], { args: [...scope('controller'), '--autoscaler-port', String(statsPort)] });
}

describe('Kubernetes mode, split into components: controller, two activators, broker (e2e, kubectl)', () => {
  beforeAll(async () => {
    await installCrdsAndNamespace(kubectl, ns);
    await applyYaml(kubectl, FAST_AUTOSCALER);
    const installed = await kubectl(['apply', ...INSTALL.flatMap((f) => ['-f', f])]);
    expect(installed.code, installed.stderr).toBe(0);
    dir = await mkdtemp(join(tmpdir(), 'wisp-split-'));
    for (const [component, serviceAccount] of [['controller', 'wisp'], ['activator', 'wisp-activator'], ['broker', 'wisp-broker']] as const) {
      kubeconfigs[component] = (await serviceAccountKubeconfig(kubectl, { namespace: 'wisp-system', serviceAccount, dir, durationSeconds: 3600 })).kubeconfigPath;
    }
    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    statsPort = await freePort();
    activatorA = await WispProcess.create({ POD_NAME: 'activator-a' });
    activatorB = await WispProcess.create({ POD_NAME: 'activator-b' });
    broker = await WispProcess.create({ WISP_REDIS_PREFIX: `wisp-split-${randomUUID().slice(0, 8)}` });
    // Outside the cluster there are no Services to name: the controller is told where the data plane listens.
    controller = await WispProcess.create({
      WISP_AUTOSCALER_TICK_MS: '500',
      WISP_ACTIVATOR_URL: `http://127.0.0.1:${activatorA.ports.ingress}`,
      WISP_BROKER_INGRESS_URL: `http://127.0.0.1:${broker.ports.broker}`,
    });
    await startController();
    const autoscalerUrl = `http://127.0.0.1:${statsPort}`;
    await Promise.all([
      activatorA.start([], { args: [...scope('activator'), '--autoscaler-url', autoscalerUrl] }),
      activatorB.start([], { args: [...scope('activator'), '--autoscaler-url', autoscalerUrl] }),
      broker.start([], { args: [...scope('broker')] }),
    ]);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([activatorA?.cleanup(), activatorB?.cleanup(), broker?.cleanup()]);
    await controller?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kubelet?.stop({ deleteNode: true });
  }, 60_000);

  it('each process says what it runs; the data-plane components answer /readyz and serve no writes', async () => {
    expect(controller!.output).toContain('Wisp controller is up.');
    expect(controller!.output).toContain(`Autoscaler stats http://127.0.0.1:${statsPort}`);
    expect(activatorA!.output).toContain('Wisp activator is up.');
    expect(broker!.output).toContain('Wisp broker is up.');
    for (const p of [activatorA!, activatorB!, broker!]) expect((await p.fetchAnonymous('/readyz')).status).toBe(200);
    // The activator's API shows what it reads (Routes), and nothing it does not (ksvcs are the controller's).
    expect((await activatorA!.fetch(`/apis/serving.knative.dev/v1/namespaces/${ns}/routes`)).status).toBe(200);
    expect((await activatorA!.fetch(`/apis/serving.knative.dev/v1/namespaces/${ns}/services`)).status).toBe(404);
  });

  it('a ksvc applied with kubectl: the controller makes it READY with addresses on the activator; BOTH activators route it from the Route the controller wrote', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'Split' }));
    await waitKsvcReady(kubectl, ns, 'hello');
    expect(await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.address.url}')).toBe(`http://127.0.0.1:${activatorA!.ports.ingress}/${ns}/hello`);
    expect(await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.url}')).toBe(`http://hello.${ns}.localhost:${activatorA!.ports.ingress}`);
    for (const a of [activatorA!, activatorB!]) {
      const res = await waitFor(
        async () => {
          const r = await viaActivator(a, `hello.${ns}.localhost`);
          return r.status === 200 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'hello through an activator' },
      );
      expect(res.body).toBe('Hello Split! (revision hello-00001)\n');
    }
    // Unknown hosts are the activator's own 404, with the host named.
    const unknown = await viaActivator(activatorB!, `nope.${ns}.localhost`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain(`nope.${ns}.localhost`);
  });

  it('scale from zero through the second activator: its poke reaches the controller over the network, the Deployment scales, the request is answered', async () => {
    await waitFor(async () => (await deploymentReplicas(kubectl, ns, 'hello-00001-deployment')) === 0, { timeoutMs: 60_000, intervalMs: 300, what: 'hello scaled to zero' });
    const res = await viaActivator(activatorB!, `hello.${ns}.localhost`, '/', 60_000);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toBe('Hello Split! (revision hello-00001)\n');
    expect(res.headers['x-wisp-cold-start']).toBeDefined();
    expect(await deploymentReplicas(kubectl, ns, 'hello-00001-deployment')).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it("the autoscaler adds up the two activators' concurrency: 3 slow requests held through each, target 1 → 6 replicas (one activator alone would ask for 3)", async () => {
    await applyYaml(
      kubectl,
      ksvcYaml({ name: 'load', namespace: ns, annotations: { 'autoscaling.knative.dev/target': '1', 'autoscaling.knative.dev/target-utilization-percentage': '100', 'autoscaling.knative.dev/max-scale': '6' } }),
    );
    await waitKsvcReady(kubectl, ns, 'load');
    const stop = Date.now() + 9_000;
    const hold = async (a: WispProcess): Promise<void> => {
      while (Date.now() < stop) await viaActivator(a, `load.${ns}.localhost`, '/?sleep=1500', 30_000);
    };
    const load = Promise.all([activatorA!, activatorA!, activatorA!, activatorB!, activatorB!, activatorB!].map(hold));
    try {
      await waitFor(async () => ((await deploymentReplicas(kubectl, ns, 'load-00001-deployment')) ?? 0) >= 6, {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: 'load scaled to 6 replicas',
      });
    } finally {
      await load;
    }
  }, 60_000);

  it('a Broker + Trigger to a ksvc: the controller writes Ready with the broker component\'s address; an event POSTed to the broker component reaches the Pod through an activator', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'event-display', namespace: ns, image: 'example.com/event-display', annotations: { 'autoscaling.knative.dev/max-scale': '1' } }));
    await applyYaml(
      kubectl,
      brokerTriggerYaml({ namespace: ns, trigger: 'display', type: 'dev.knative.samples.helloworld', subscriber: 'event-display' }),
    );
    await waitKsvcReady(kubectl, ns, 'event-display');
    await waitFor(async () => (await conditionStatus(kubectl, ns, 'trigger/display')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'trigger READY True' });
    expect(await jsonpath(kubectl, ns, 'broker/default', '{.status.address.url}')).toBe(`http://127.0.0.1:${broker!.ports.broker}/${ns}/default`);

    const post = (id: string) =>
      httpRequest({
        port: broker!.ports.broker,
        path: `/${ns}/default`,
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e/split', 'ce-type': 'dev.knative.samples.helloworld', 'content-type': 'application/json' },
        body: JSON.stringify({ msg: 'through the split' }),
      });
    // The broker component serves the Broker once it has read it (its own list-watch): until then it answers 404.
    const accepted = await waitFor(
      async () => {
        const r = await post('split-1');
        return r.status === 202 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the broker component takes the event' },
    );
    expect(accepted.status).toBe(202);
    const seen = await waitFor(
      async () => {
        const r = await viaActivator(activatorA!, `event-display.${ns}.localhost`, '/_seen');
        if (r.status !== 200) return undefined;
        const posts = (JSON.parse(r.body) as { method: string; headers: Record<string, string>; body: string }[]).filter((s) => s.method === 'POST');
        return posts.length > 0 ? posts : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the event at the event-display Pod' },
    );
    expect(seen[0]!.headers['ce-id']).toBe('split-1');
    expect(JSON.parse(seen[0]!.body)).toEqual({ msg: 'through the split' });
  }, 120_000);

  it('the data plane does not block on the control plane: with the controller stopped, both activators still answer warm revisions; the controller back, it resumes', async () => {
    await controller!.stop();
    for (const a of [activatorA!, activatorB!]) {
      const res = await viaActivator(a, `load.${ns}.localhost`);
      expect(res.status, res.body).toBe(200);
    }
    await startController();
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'Again' }));
    const res = await waitFor(
      async () => {
        const r = await viaActivator(activatorB!, `hello.${ns}.localhost`, '/', 60_000);
        return r.status === 200 && r.body.includes('Again') ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'the new revision through activator B' },
    );
    expect(res.body).toBe('Hello Again! (revision hello-00002)\n');
  }, 120_000);

  it('no component was refused anything by the API server through all of the above (each ServiceAccount has the rights its code uses)', () => {
    for (const p of [controller!, activatorA!, activatorB!, broker!]) expect(p.output).not.toMatch(/forbidden/i);
  });
});
