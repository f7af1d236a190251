/**
 * Kubernetes mode end to end, driven with kubectl as a user would: `wisp up --runtime kubernetes` against a real
 * kube-apiserver + kube-controller-manager (the shared control plane of the k8s project), Wisp's CRDs installed with
 * `kubectl apply -f manifests/crds/`, plain Knative YAML (images only) run by the test kubelet. One Wisp, scoped to
 * this file's namespace; the steps run in order on the same cluster state.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { k8sKubeconfig, kubectl, startTestKubelet } from '../support/k8s/index.js';
import type { Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import type { WispProcess } from '../support/wisp.js';
import {
  applyYaml,
  CRDS_DIR,
  deploymentReplicas,
  FAST_AUTOSCALER,
  jsonpath,
  ksvcYaml,
  restartWisp,
  startWispOnKubernetes,
  TEST_IMAGES,
  waitKsvcReady,
} from './helpers.js';

const ns = `wisp-e2e-${randomUUID().slice(0, 8)}`;
let kubelet: Kubelet | undefined;
let wisp: WispProcess | undefined;

const get = (host: string, path = '/', timeoutMs = 30_000) => httpRequest({ port: wisp!.ports.ingress, host, path, timeoutMs });

interface DeploymentJson {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string }[] };
  spec: { replicas?: number; template: { spec: { containers: { image?: string; env?: { name: string; value?: string }[]; readinessProbe?: unknown }[] } } };
}

async function listJson<T>(what: string): Promise<T[]> {
  const r = await kubectl(['get', '-n', ns, what, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { items: T[] }).items;
}

describe('Kubernetes mode: Serving on a real control plane (e2e, kubectl)', () => {
  beforeAll(async () => {
    const crds = await kubectl(['apply', '-f', CRDS_DIR]);
    expect(crds.code, crds.stderr).toBe(0);
    expect((await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'])).code).toBe(0);
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    await applyYaml(kubectl, FAST_AUTOSCALER);
    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    wisp = await startWispOnKubernetes(k8sKubeconfig(), ns);
  }, 180_000);

  afterAll(async () => {
    await wisp?.cleanup();
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kubelet?.stop({ deleteNode: true });
  }, 60_000);

  it('a plain Knative ksvc (image only) becomes READY True; curl through the activator answers from a Pod; its Deployment, Service, Configuration, Revision and Route are real objects', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'Kubernetes' }));
    await waitKsvcReady(kubectl, ns, 'hello');

    const table = await kubectl(['get', 'ksvc', 'hello', '-n', ns]);
    expect(table.stdout).toMatch(/^NAME\s+URL\s+LATESTCREATED\s+LATESTREADY\s+READY\s+REASON/);
    expect(table.stdout).toMatch(new RegExp(`^hello\\s+http://hello\\.${ns}\\.localhost:${wisp!.ports.ingress}\\s+hello-00001\\s+hello-00001\\s+True`, 'm'));
    // Wisp's conditions, written through the status subresource.
    const conds = JSON.parse(await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.conditions}')) as { type: string; status: string }[];
    expect(conds.map((c) => `${c.type}=${c.status}`).sort()).toEqual(['ConfigurationsReady=True', 'Ready=True', 'RoutesReady=True']);

    const res = await get(`hello.${ns}.localhost`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('Hello Kubernetes! (revision hello-00001)\n');

    const all = await kubectl(['get', 'configurations,revisions,routes', '-n', ns, '-o', 'name']);
    expect(all.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'configuration.serving.knative.dev/hello',
      'revision.serving.knative.dev/hello-00001',
      'route.serving.knative.dev/hello',
    ]);
    const deploy = await kubectl(['get', 'deploy', '-n', ns]);
    expect(deploy.stdout).toMatch(/^hello-00001-deployment\s+1\/1/m);

    const [d] = await listJson<DeploymentJson>('deploy');
    expect(d?.metadata.labels).toMatchObject({
      'serving.knative.dev/service': 'hello',
      'serving.knative.dev/configuration': 'hello',
      'serving.knative.dev/revision': 'hello-00001',
    });
    const revUid = await jsonpath(kubectl, ns, 'rev/hello-00001', '{.metadata.uid}');
    expect(d?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Revision', name: 'hello-00001', uid: revUid })]);
    const c = d?.spec.template.spec.containers[0];
    expect(c?.image).toBe('example.com/hello');
    const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ PORT: '8080', K_SERVICE: 'hello', K_CONFIGURATION: 'hello', K_REVISION: 'hello-00001', TARGET: 'Kubernetes' });
    expect(c?.readinessProbe).toMatchObject({ tcpSocket: { port: 8080 } });
    expect((await kubectl(['get', 'service', 'hello-00001', '-n', ns])).code).toBe(0);

    // wisp get reads the same API.
    const wget = await wisp!.cli(['get', 'ksvc', '-n', ns]);
    expect(wget.code, wget.stderr).toBe(0);
    expect(wget.stdout).toMatch(/^hello\s+http:\/\/hello\..*\s+hello-00001\s+hello-00001\s+True/m);
  });

  it('with no traffic the Deployment goes to 0 replicas; the next request scales it from zero (replicas 1, Pod started, EndpointSlice ready, answered, cold-start header)', async () => {
    await waitFor(async () => (await deploymentReplicas(kubectl, ns, 'hello-00001-deployment')) === 0, { timeoutMs: 60_000, intervalMs: 250, what: 'hello at 0 replicas' });
    await waitFor(async () => (await kubectl(['get', 'pods', '-n', ns, '-l', 'serving.knative.dev/revision=hello-00001', '-o', 'name'])).stdout.trim() === '', {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'hello pods gone',
    });
    expect(await jsonpath(kubectl, ns, 'rev/hello-00001', '{.status.actualReplicas}')).toBe('0');

    const res = await get(`hello.${ns}.localhost`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('Hello Kubernetes! (revision hello-00001)\n');
    expect(Number(res.headers['x-wisp-cold-start'])).toBeGreaterThan(0);
    expect(await deploymentReplicas(kubectl, ns, 'hello-00001-deployment')).toBe(1);
    const ready = await jsonpath(kubectl, ns, 'endpointslices', '{.items[*].endpoints[*].conditions.ready}');
    expect(ready).toContain('true');
  });

  it('panic scale-up under 40 concurrent slow requests raises replicas, and max-scale caps them', async () => {
    await applyYaml(
      kubectl,
      ksvcYaml({ name: 'slow', namespace: ns, cc: 1, annotations: { 'autoscaling.knative.dev/max-scale': '3', 'autoscaling.knative.dev/target': '1' } }),
    );
    await waitKsvcReady(kubectl, ns, 'slow');
    let maxSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxSeen = Math.max(maxSeen, (await deploymentReplicas(kubectl, ns, 'slow-00001-deployment')) ?? 0);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const answers = await Promise.all(Array.from({ length: 40 }, () => get(`slow.${ns}.localhost`, '/?sleep=1500', 90_000)));
    sampling = false;
    await sampler;
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    expect(maxSeen).toBeGreaterThan(1);
    expect(maxSeen).toBeLessThanOrEqual(3);
  }, 120_000);

  it('a 50/50 split across two revisions Deployments, and a tag URL on the old one', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'split', namespace: ns, target: 'one' }));
    await waitKsvcReady(kubectl, ns, 'split');
    await applyYaml(
      kubectl,
      ksvcYaml({
        name: 'split',
        namespace: ns,
        target: 'two',
        traffic: '    - revisionName: split-00001\n      percent: 50\n    - latestRevision: true\n      percent: 50\n    - revisionName: split-00001\n      tag: old\n      percent: 0',
      }),
    );
    await waitFor(async () => (await jsonpath(kubectl, ns, 'ksvc/split', '{.status.latestReadyRevisionName}')) === 'split-00002', {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'split-00002 ready',
    });
    await waitKsvcReady(kubectl, ns, 'split');
    const bodies = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const r = await get(`split.${ns}.localhost`);
      expect(r.status).toBe(200);
      bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
    }
    expect([...bodies.keys()].sort()).toEqual(['Hello one! (revision split-00001)\n', 'Hello two! (revision split-00002)\n']);
    for (const n of bodies.values()) expect(n).toBeGreaterThan(10);
    const deploys = await kubectl(['get', 'deploy', '-n', ns, '-l', 'serving.knative.dev/service=split', '-o', 'name']);
    expect(deploys.stdout.split('\n').filter(Boolean).sort()).toEqual(['deployment.apps/split-00001-deployment', 'deployment.apps/split-00002-deployment']);

    const tagUrl = await jsonpath(kubectl, ns, 'ksvc/split', '{.status.traffic[?(@.tag=="old")].url}');
    expect(tagUrl).toBe(`http://old-split.${ns}.localhost:${wisp!.ports.ingress}`);
    for (let i = 0; i < 5; i++) expect((await get(`old-split.${ns}.localhost`)).body).toBe('Hello one! (revision split-00001)\n');
  }, 120_000);

  it('a crashing container makes the Revision Ready=False with the reason from the Pod, and requests fail fast with it', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'crash', namespace: ns, image: 'example.com/crash' }));
    const reason = await waitFor(
      async () => {
        const status = await jsonpath(kubectl, ns, 'rev/crash-00001', '{.status.conditions[?(@.type=="Ready")].status}');
        return status === 'False' ? jsonpath(kubectl, ns, 'rev/crash-00001', '{.status.conditions[?(@.type=="Ready")].reason}') : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'crash-00001 Ready=False' },
    );
    expect(reason).toMatch(/^(ExitCode3|CrashLoopBackOff)$/);
    expect(await jsonpath(kubectl, ns, 'ksvc/crash', '{.status.conditions[?(@.type=="Ready")].status}')).toBe('False');
    const started = Date.now();
    const res = await get(`crash.${ns}.localhost`);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(res.body).toMatch(/ExitCode3|CrashLoopBackOff/);
  }, 90_000);

  it('stopping Wisp while replicas are up leaves them up (Knative keeps the last decision); restarted, it resumes from them and nothing is created twice', async () => {
    expect((await get(`hello.${ns}.localhost`)).status).toBe(200);
    const before = (await deploymentReplicas(kubectl, ns, 'hello-00001-deployment')) ?? 0;
    expect(before).toBeGreaterThanOrEqual(1);
    const revisionsBefore = (await kubectl(['get', 'revisions', '-n', ns, '-o', 'name'])).stdout.split('\n').filter(Boolean).sort();
    const uidsBefore = await jsonpath(kubectl, ns, 'deploy', '{.items[*].metadata.uid}');

    await wisp!.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await deploymentReplicas(kubectl, ns, 'hello-00001-deployment')).toBe(before);

    await restartWisp(wisp!, k8sKubeconfig(), ns);
    expect(await deploymentReplicas(kubectl, ns, 'hello-00001-deployment')).toBe(before);
    expect((await get(`hello.${ns}.localhost`)).status).toBe(200);
    await waitKsvcReady(kubectl, ns, 'hello');
    expect((await kubectl(['get', 'revisions', '-n', ns, '-o', 'name'])).stdout.split('\n').filter(Boolean).sort()).toEqual(revisionsBefore);
    expect(await jsonpath(kubectl, ns, 'deploy', '{.items[*].metadata.uid}')).toBe(uidsBefore);
  }, 90_000);

  it('kill -9 of wisp up, kubectl delete ksvc while it is down: the garbage collector removes Revisions, Deployments and Services; a restart converges, with nothing recreated twice and no orphans', async () => {
    await wisp!.stop('SIGKILL');
    const del = await kubectl(['delete', 'ksvc', 'split', '-n', ns]);
    expect(del.code, del.stderr).toBe(0);
    // Nothing of Wisp runs now: only Kubernetes' garbage collector can remove the dependents.
    await waitFor(
      async () => {
        const left = await kubectl(['get', 'revisions,configurations,routes,deploy,services', '-n', ns, '-l', 'serving.knative.dev/service=split', '-o', 'name']);
        return left.code === 0 && left.stdout.trim() === '';
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'split garbage-collected' },
    );
    const uidsBefore = (await jsonpath(kubectl, ns, 'deploy', '{.items[*].metadata.uid}')).split(' ').sort();

    await restartWisp(wisp!, k8sKubeconfig(), ns);
    await waitKsvcReady(kubectl, ns, 'hello');
    await waitKsvcReady(kubectl, ns, 'slow');
    expect((await get(`hello.${ns}.localhost`)).status).toBe(200);
    expect((await get(`split.${ns}.localhost`)).status).toBe(404);
    const revisions = (await kubectl(['get', 'revisions', '-n', ns, '-o', 'name'])).stdout.split('\n').filter(Boolean).sort();
    expect(revisions).toEqual(['revision.serving.knative.dev/crash-00001', 'revision.serving.knative.dev/hello-00001', 'revision.serving.knative.dev/slow-00001']);
    expect((await jsonpath(kubectl, ns, 'deploy', '{.items[*].metadata.uid}')).split(' ').sort()).toEqual(uidsBefore);
    // No orphan: every Deployment is owned by a Revision that exists.
    const revUids = new Set((await jsonpath(kubectl, ns, 'revisions', '{.items[*].metadata.uid}')).split(' '));
    for (const d of await listJson<DeploymentJson>('deploy')) expect(revUids.has(d.metadata.ownerReferences?.[0]?.uid ?? '')).toBe(true);
  }, 180_000);

  it('status.url takes the domain of the config-domain ConfigMap, and the activator routes that host', async () => {
    await applyYaml(kubectl, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-domain\n  namespace: knative-serving\ndata:\n  example.com: ""\n');
    try {
      await waitFor(async () => (await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.url}')) === `http://hello.${ns}.example.com:${wisp!.ports.ingress}`, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'hello url on example.com',
      });
      const res = await get(`hello.${ns}.example.com`);
      expect(res.status).toBe(200);
    } finally {
      await kubectl(['delete', 'configmap', 'config-domain', '-n', 'knative-serving', '--ignore-not-found']);
    }
    await waitFor(async () => (await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.url}')) === `http://hello.${ns}.localhost:${wisp!.ports.ingress}`, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'hello url back on localhost',
    });
  });
});
