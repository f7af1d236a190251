/**
 * KubernetesRuntime against a real kube-apiserver + kube-controller-manager (Deployment, ReplicaSet, EndpointSlice and
 * garbage-collector controllers), with the test kubelet running the Pods as processes with their own IPs: what a
 * Revision becomes (Deployment + Service, labels, owner), scaling through the scale subresource, ready endpoints from
 * EndpointSlices answering HTTP, failures read from Pods, a restart that changes nothing, remove and garbage collection.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesApiError, KubernetesRuntime, type KubernetesRuntimeError } from '../../src/runtime/index.js';
import type { RevisionWorkload } from '../../src/runtime/types.js';
import { k8sKubeconfig, kubectl, startControlPlane, startTestKubelet, type ControlPlane } from '../support/k8s/index.js';
import { startKubelet, type Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import { getUrl } from '../support/http.js';

const NODE = process.execPath;
/** The function: listens on $PORT on every address of its Pod's network, answers 200 "hello from <revision>". */
const HELLO = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end('hello from ' + process.env.K_REVISION));
server.listen(Number(process.env.PORT), process.env.HOST || '0.0.0.0');
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); process.exit(0); });
`;
const CRASH = `console.error('crash: cannot open config.yaml'); process.exit(1);`;
const CRDS = join(import.meta.dirname, '../../manifests/crds');
const HAS_CRDS = existsSync(join(CRDS, 'revisions.serving.knative.dev.yaml'));

async function mustKubectl(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const notFound = (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => false,
    (err: unknown) => (err as { code?: unknown }).code === 404,
  );

describe('KubernetesRuntime on a real control plane', () => {
  const ns = `wisp-rt-${randomUUID().slice(0, 8)}`;
  let kc: KubeConfig;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let kubelet: Kubelet | undefined;
  let rt: KubernetesRuntime | undefined;
  const errors: KubernetesRuntimeError[] = [];
  const logs: string[] = [];
  const uids = new Map<string, string>();

  /** The owner: a real Revision object when the CRDs are in the repo (GC then works), else a ConfigMap standing in. */
  async function owner(name: string): Promise<string> {
    const yaml = HAS_CRDS
      ? `apiVersion: serving.knative.dev/v1\nkind: Revision\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  containers:\n    - image: example.com/wisp/hello\n`
      : `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;
    await mustKubectl(['apply', '-f', '-'], yaml);
    const uid = await mustKubectl(['get', HAS_CRDS ? 'revisions.serving.knative.dev' : 'configmap', name, '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
    uids.set(name, uid);
    return uid;
  }

  function workload(revision: string, container: RevisionWorkload['container'], over: Partial<RevisionWorkload> = {}): RevisionWorkload {
    const service = revision.replace(/-\d+$/, '');
    return {
      key: `${ns}/${revision}`,
      namespace: ns,
      service,
      configuration: service,
      revision,
      revisionUid: uids.get(revision) ?? '',
      labels: { 'serving.knative.dev/configurationGeneration': '1', 'serving.knative.dev/route': service },
      annotations: { 'autoscaling.knative.dev/target': '10' },
      container,
      containers: [container],
      baseDir: process.cwd(),
      timeoutSeconds: 5,
      ...over,
    };
  }

  const create = (): Promise<KubernetesRuntime> =>
    KubernetesRuntime.create({
      kubeConfig: kc,
      namespace: ns,
      backoff: { initialMs: 100, maxMs: 2_000 },
      onError: (e) => errors.push(e),
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(`WARN ${m}`) },
    });

  beforeAll(async () => {
    kc = new KubeConfig();
    kc.loadFromFile(k8sKubeconfig());
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    if (HAS_CRDS) {
      await mustKubectl(['apply', '-f', CRDS]);
      await mustKubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/revisions.serving.knative.dev']);
    }
    await mustKubectl(['create', 'namespace', ns]);
    await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }), { timeoutMs: 30_000, what: 'default service account' });
    kubelet = await startTestKubelet({
      namespaces: [ns],
      backoff: { initialMs: 200, maxMs: 2_000 },
      probeMaxPeriodMs: 200,
      images: {
        'example.com/wisp/hello': { command: [NODE, '-e', HELLO] },
        'example.com/wisp/crash': { command: [NODE, '-e', CRASH] },
      },
    });
    rt = await create();
  });

  afterAll(async () => {
    await rt?.close();
    await kubelet?.stop({ deleteNode: true });
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('deploy creates <rev>-deployment (0 replicas) and Service <rev> with Knative labels and the Revision as owner', async () => {
    const uid = await owner('hello-00001');
    const w = workload('hello-00001', { image: 'example.com/wisp/hello' });
    rt!.deploy(w);
    expect(rt!.status(w.key)).toEqual({ desired: 0, ready: [], starting: 0, restarts: 0 });
    await rt!.settled(w.key);
    const d = await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns });
    const labels = {
      'serving.knative.dev/revision': 'hello-00001',
      'serving.knative.dev/service': 'hello',
      'serving.knative.dev/configuration': 'hello',
      'serving.knative.dev/revisionUID': uid,
      'serving.knative.dev/configurationGeneration': '1',
    };
    const owners = [{ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', name: 'hello-00001', uid, controller: true, blockOwnerDeletion: true }];
    expect(d.metadata?.labels).toMatchObject(labels);
    expect(d.metadata?.ownerReferences).toEqual(owners);
    expect(d.spec?.replicas).toBe(0);
    expect(d.spec?.selector.matchLabels).toEqual({ 'serving.knative.dev/revision': 'hello-00001' });
    expect(d.spec?.template.metadata?.labels).toMatchObject(labels);
    expect(d.spec?.template.metadata?.annotations).toEqual({ 'autoscaling.knative.dev/target': '10' });
    expect(d.spec?.template.spec?.terminationGracePeriodSeconds).toBe(5);
    const c = d.spec?.template.spec?.containers[0];
    expect(c?.image).toBe('example.com/wisp/hello');
    expect(c?.env?.slice(0, 4)).toEqual([
      { name: 'PORT', value: '8080' },
      { name: 'K_SERVICE', value: 'hello' },
      { name: 'K_CONFIGURATION', value: 'hello' },
      { name: 'K_REVISION', value: 'hello-00001' },
    ]);
    expect(c?.readinessProbe?.tcpSocket?.port).toBe(8080);
    const svc = await core.readNamespacedService({ name: 'hello-00001', namespace: ns });
    expect(svc.metadata?.labels).toMatchObject(labels);
    expect(svc.metadata?.ownerReferences).toEqual(owners);
    expect(svc.spec?.selector).toEqual({ 'serving.knative.dev/revision': 'hello-00001' });
    expect(svc.spec?.ports?.map((p) => ({ port: p.port, targetPort: p.targetPort }))).toEqual([{ port: 80, targetPort: 8080 }]);
    // deploy() again is a no-op.
    rt!.deploy(w);
    await rt!.settled(w.key);
    expect((await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns })).metadata?.generation).toBe(d.metadata?.generation);
  });

  let endpoints: { id: string; host: string; port: number }[] = [];

  it('scale(key, 1): replicas 1 through the scale subresource, a Pod runs, one ready endpoint that answers HTTP 200', async () => {
    const key = `${ns}/hello-00001`;
    const seen: string[] = [];
    const off = rt!.onChange((k, s) => k === key && seen.push(`${s.desired}/${s.ready.length}/${s.starting}`));
    rt!.scale(key, 1);
    expect(rt!.status(key)?.desired).toBe(1);
    await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns })).spec?.replicas === 1, { timeoutMs: 10_000, what: 'replicas 1' });
    const status = await waitFor(() => (rt!.status(key)?.ready.length === 1 ? rt!.status(key) : undefined), { timeoutMs: 60_000, intervalMs: 100, what: 'one ready endpoint' });
    off();
    expect(status.failure).toBeUndefined();
    expect(status.starting).toBe(0);
    const [ep] = status.ready;
    expect(ep?.id).toMatch(/^hello-00001-deployment-/);
    expect(ep?.port).toBe(8080);
    const pod = await core.readNamespacedPod({ name: ep?.id ?? '', namespace: ns });
    expect(pod.status?.podIP).toBe(ep?.host);
    const r = await waitFor(() => getUrl(`http://${ep?.host ?? ''}:${ep?.port ?? 0}/`), { timeoutMs: 10_000, what: 'the pod answers' });
    expect(r).toEqual({ status: 200, body: 'hello from hello-00001' });
    expect(seen[0]).toBe('1/0/0');
    expect(seen.at(-1)).toBe('1/1/0');
    endpoints = status.ready;
  });

  it('a restarted runtime (close + create) leaves replicas alone and reports the same ready endpoints; deploy() again changes nothing', async () => {
    const key = `${ns}/hello-00001`;
    const before = await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns });
    await rt!.close();
    expect(() => rt!.deploy(workload('other-00001', { image: 'x' }))).toThrow(/after close/);
    const after = await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns });
    expect(after.spec?.replicas).toBe(1);
    rt = await create();
    // Known from the cluster before any deploy(): desired from the Deployment, endpoints from its EndpointSlice.
    expect(rt.status(key)).toEqual({ desired: 1, ready: endpoints, starting: 0, restarts: 0 });
    logs.length = 0;
    rt.deploy(workload('hello-00001', { image: 'example.com/wisp/hello' }));
    await rt.settled(key);
    const again = await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns });
    expect(again.spec?.replicas).toBe(1);
    expect(again.metadata?.generation).toBe(before.metadata?.generation);
    expect(logs.filter((l) => /updated|created/.test(l))).toEqual([]);
    expect(rt.status(key)?.ready).toEqual(endpoints);
    const r = await getUrl(`http://${endpoints[0]?.host ?? ''}:${endpoints[0]?.port ?? 0}/`);
    expect(r.status).toBe(200);
  });

  it('scale(key, 0): the endpoint goes, then the Pod', async () => {
    const key = `${ns}/hello-00001`;
    rt!.scale(key, 0);
    expect(rt!.status(key)?.desired).toBe(0);
    await waitFor(() => rt!.status(key)?.ready.length === 0, { timeoutMs: 30_000, intervalMs: 100, what: 'no ready endpoints' });
    await waitFor(async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: 'serving.knative.dev/revision=hello-00001' })).items.length === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'hello pods gone',
    });
    expect(rt!.status(key)).toMatchObject({ desired: 0, ready: [], starting: 0 });
    expect((await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns })).spec?.replicas).toBe(0);
  });

  it('a container that exits 1 fails the revision with ExitCode1 (Knative wording); an unknown image with ErrImagePull', async () => {
    await owner('crash-00001');
    await owner('noimage-00001');
    const crash = workload('crash-00001', { image: 'example.com/wisp/crash' });
    const noImage = workload('noimage-00001', { image: 'example.com/not/mapped:1.0' });
    rt!.deploy(crash);
    rt!.deploy(noImage);
    rt!.scale(crash.key, 1);
    rt!.scale(noImage.key, 1);
    const f = await waitFor(() => rt!.status(crash.key)?.failure, { timeoutMs: 60_000, intervalMs: 100, what: 'crash failure' });
    expect(f.reason).toBe('ExitCode1');
    expect(f.message).toMatch(/^Container failed with: /);
    await waitFor(() => (rt!.status(crash.key)?.restarts ?? 0) >= 1, { timeoutMs: 30_000, intervalMs: 100, what: 'a restart' });
    expect(rt!.status(crash.key)?.ready).toEqual([]);
    const g = await waitFor(() => rt!.status(noImage.key)?.failure, { timeoutMs: 60_000, intervalMs: 100, what: 'image failure' });
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(g.reason);
    // Scaled to zero, the failure stays (as the embedded runtime keeps it) until a replica is ready.
    rt!.scale(crash.key, 0);
    await waitFor(() => rt!.status(crash.key)?.starting === 0, { timeoutMs: 30_000, intervalMs: 100, what: 'crash pods gone' });
    expect(rt!.status(crash.key)?.failure?.reason).toBe('ExitCode1');
  });

  it('a Deployment the API refuses (no image) fails the revision with DeploymentFailed and is reported to onError', async () => {
    const w = workload('bad-00001', { command: [NODE, '-e', HELLO] }, { revisionUid: '' });
    errors.length = 0;
    rt!.deploy(w);
    const f = await waitFor(() => rt!.status(w.key)?.failure, { timeoutMs: 10_000, what: 'DeploymentFailed' });
    expect(f.reason).toBe('DeploymentFailed');
    expect(f.message).toMatch(/create Deployment .*bad-00001-deployment: HTTP 422: .*image/);
    const e = errors.find((x) => x instanceof KubernetesApiError && x.httpStatus === 422);
    expect(e?.code).toBe('WISP_ERR_K8S_API');
    await rt!.remove(w.key);
    expect(rt!.status(w.key)).toBeUndefined();
  });

  it('remove deletes the Deployment and the Service and forgets the key', async () => {
    const key = `${ns}/hello-00001`;
    await rt!.remove(key);
    expect(await notFound(apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns }))).toBe(true);
    expect(await notFound(core.readNamespacedService({ name: 'hello-00001', namespace: ns }))).toBe(true);
    expect(rt!.status(key)).toBeUndefined();
    rt!.scale(key, 1);
    expect(rt!.status(key)).toBeUndefined();
  });

  it.skipIf(!HAS_CRDS)("Kubernetes' garbage collector deletes both with the Revision that owns them", async () => {
    const key = `${ns}/crash-00001`;
    await mustKubectl(['delete', 'revisions.serving.knative.dev', 'crash-00001', '-n', ns, '--wait=false']);
    await waitFor(
      async () =>
        (await notFound(apps.readNamespacedDeployment({ name: 'crash-00001-deployment', namespace: ns }))) &&
        (await notFound(core.readNamespacedService({ name: 'crash-00001', namespace: ns }))),
      { timeoutMs: 60_000, intervalMs: 200, what: 'garbage collection of crash-00001' },
    );
    await rt!.remove(key);
    expect(rt!.status(key)).toBeUndefined();
  });
});

/** With a control plane of its own, so killing its API server disturbs no other test file. */
describe('KubernetesRuntime while the API server is down', () => {
  let cp: ControlPlane | undefined;
  let kubelet: Kubelet | undefined;
  let rt: KubernetesRuntime | undefined;

  afterAll(async () => {
    await rt?.close();
    await kubelet?.stop({ deleteNode: true }).catch(() => undefined);
    await cp?.stop();
  });

  it('keeps its watches and retries its writes, and catches up once the API server is back, without the caller doing anything', async () => {
    cp = await startControlPlane({});
    const ns = 'outage';
    const r0 = await cp.kubectl(['create', 'namespace', ns]);
    expect(r0.code).toBe(0);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }), { timeoutMs: 30_000, what: 'default service account' });
    kubelet = await startKubelet({
      kubeconfigPath: cp.kubeconfigPath,
      nodeName: 'wisp-outage-node',
      namespaces: [ns],
      backoff: { initialMs: 200, maxMs: 2_000 },
      probeMaxPeriodMs: 200,
      images: { 'example.com/wisp/hello': { command: [NODE, '-e', HELLO] } },
    });
    const errors: KubernetesRuntimeError[] = [];
    rt = await KubernetesRuntime.create({ kubeConfig: kc, backoff: { initialMs: 100, maxMs: 1_000 }, onError: (e) => errors.push(e) });
    const w: RevisionWorkload = {
      key: `${ns}/hello-00001`,
      namespace: ns,
      service: 'hello',
      configuration: 'hello',
      revision: 'hello-00001',
      container: { image: 'example.com/wisp/hello' },
      baseDir: process.cwd(),
      timeoutSeconds: 2,
    };
    rt.deploy(w);
    rt.scale(w.key, 1);
    await waitFor(() => rt!.status(w.key)?.ready.length === 1, { timeoutMs: 60_000, intervalMs: 100, what: 'one ready endpoint' });

    await cp.killApiServer();
    await waitFor(() => errors.some((e) => /^(list|watch) /.test(e.message)), { timeoutMs: 60_000, intervalMs: 100, what: 'a watch error reported' });
    rt.scale(w.key, 0);
    expect(rt.status(w.key)?.desired).toBe(0);
    await waitFor(() => errors.some((e) => /^scale Deployment .* to 0/.test(e.message)), { timeoutMs: 30_000, intervalMs: 100, what: 'a failed scale write reported' });
    // Still what was last seen: the Pod serves on.
    expect(rt.status(w.key)?.ready.length).toBe(1);

    await cp.startApiServer();
    await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: ns })).spec?.replicas === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the retried scale write landed',
    });
    await waitFor(() => rt!.status(w.key)?.ready.length === 0, { timeoutMs: 60_000, intervalMs: 100, what: 'the watches saw the endpoint go' });
    // And they keep following: up again.
    rt.scale(w.key, 1);
    await waitFor(() => rt!.status(w.key)?.ready.length === 1, { timeoutMs: 60_000, intervalMs: 100, what: 'ready again after the outage' });
  });
});
