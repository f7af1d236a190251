/**
 * Kubernetes mode, ApiServerSource end to end with kubectl: `wisp up --runtime kubernetes` against the shared real
 * control plane (RBAC on). Sources watch real Kubernetes resources as their ServiceAccount (impersonated), and send
 * Knative's events to a ksvc recorder (`example.com/event-display`, run by the test kubelet) through the activator.
 * The Knative docs' example (v1 Event, mode Resource, a ServiceAccount with a Role), an apps/v1 Deployment source
 * with a label selector in mode Reference, a namespaceSelector (status.namespaces, a namespace labelled later), a
 * ServiceAccount without rights (Ready False, reason Forbidden, until the test grants the Role) and a kind the
 * cluster does not serve (ResourceNotFound). Then, on a control plane of its own, kill -9 of kube-apiserver under a running source:
 * the reason is logged, nothing crashes, and events flow again after the restart.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { k8sKubeconfig, kubectl, startControlPlane, startTestKubelet, type ControlPlane } from '../support/k8s/index.js';
import { Recorder } from '../support/recorder.js';
import type { Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import type { WispProcess } from '../support/wisp.js';
import { applyYaml, conditionStatus, installCrdsAndNamespace, jsonpath, ksvcYaml, startWispOnKubernetes, TEST_IMAGES, waitKsvcReady, type Kubectl } from './helpers.js';

const ns = `wisp-ass-${randomUUID().slice(0, 8)}`;
let kubelet: Kubelet | undefined;
let wisp: WispProcess | undefined;
let apiServerUrl = '';

interface Seen {
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** The events the recorder ksvc received. */
async function seen(): Promise<Seen[]> {
  const res = await httpRequest({ port: wisp!.ports.ingress, host: `event-display.${ns}.localhost`, path: '/_seen', timeoutMs: 30_000 });
  expect(res.status, res.body).toBe(200);
  return (JSON.parse(res.body) as Seen[]).filter((r) => r.method === 'POST');
}

/** Waits for an event of `type` about the object named `name`, and returns every event seen so far. */
async function waitEvent(type: string, name: string): Promise<{ event: Seen; all: Seen[] }> {
  return waitFor(
    async () => {
      const all = await seen();
      const event = all.find((r) => r.headers['ce-type'] === type && r.headers['ce-name'] === name);
      return event ? { event, all } : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `${type} for ${name} at the event-display Pod` },
  );
}

async function waitReady(source: string, status: 'True' | 'False', k: Kubectl = kubectl, namespace = ns): Promise<void> {
  await waitFor(async () => (await conditionStatus(k, namespace, `apiserversource/${source}`)) === status, {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: `apiserversource ${source} READY ${status}`,
  });
}

const roleYaml = (o: { sa: string; role: string; group: string; resource: string; bind?: boolean; namespace?: string }): string => `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${o.sa}
  namespace: ${o.namespace ?? ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ${o.role}
  namespace: ${o.namespace ?? ns}
rules:
  - apiGroups: ["${o.group}"]
    resources: ["${o.resource}"]
    verbs: ["get", "list", "watch"]
${
  o.bind === false
    ? ''
    : `---
${bindingYaml(o.sa, o.role, o.namespace)}`
}`;

function bindingYaml(sa: string, role: string, namespace = ns): string {
  return `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ${role}-binding
  namespace: ${namespace}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: ${role}
subjects:
  - kind: ServiceAccount
    name: ${sa}
    namespace: ${namespace}
`;
}

const eventYaml = (name: string): string => `apiVersion: v1
kind: Event
metadata:
  name: ${name}
  namespace: ${ns}
involvedObject:
  apiVersion: v1
  kind: Pod
  name: busybox
  namespace: ${ns}
reason: Started
message: Started container busybox
type: Normal
`;

const deploymentYaml = (name: string, labels: Record<string, string>): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
${Object.entries(labels)
  .map(([k, v]) => `    ${k}: ${v}`)
  .join('\n')}
spec:
  replicas: 0
  selector:
    matchLabels: {deploy: ${name}}
  template:
    metadata:
      labels: {deploy: ${name}}
    spec:
      containers:
        - name: app
          image: example.com/hello
`;

describe('Kubernetes mode: ApiServerSource on a real control plane (e2e, kubectl)', () => {
  beforeAll(async () => {
    await installCrdsAndNamespace(kubectl, ns);
    const server = await kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']);
    apiServerUrl = server.stdout.trim().replace(/\/+$/, '');
    expect(apiServerUrl).toMatch(/^https:\/\//);
    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    wisp = await startWispOnKubernetes(k8sKubeconfig(), ns, { WISP_REDIS_PREFIX: `wisp-k8s-ass-${randomUUID().slice(0, 8)}` });
    await applyYaml(kubectl, ksvcYaml({ name: 'event-display', namespace: ns, image: 'example.com/event-display', annotations: { 'autoscaling.knative.dev/min-scale': '1' } }));
    await waitKsvcReady(kubectl, ns, 'event-display');
  }, 180_000);

  afterAll(async () => {
    await wisp?.cleanup();
    for (const n of [ns, `${ns}-a`, `${ns}-b`]) await kubectl(['delete', 'namespace', n, '--wait=false', '--ignore-not-found']);
    await kubelet?.stop({ deleteNode: true });
  }, 60_000);

  it("the Knative docs' example: v1 Events in mode Resource as a ServiceAccount with a Role; a new Event arrives as dev.knative.apiserver.resource.add with Knative's attributes, one from before the source does not", async () => {
    await applyYaml(kubectl, eventYaml('before-source.1'));
    await applyYaml(kubectl, roleYaml({ sa: 'events-sa', role: 'event-watcher', group: '', resource: 'events' }));
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: testevents
  namespace: ${ns}
spec:
  serviceAccountName: events-sa
  mode: Resource
  resources:
    - apiVersion: v1
      kind: Event
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
`,
    );
    await waitReady('testevents', 'True');
    const listed = await kubectl(['get', 'apiserversources', '-n', ns]);
    expect(listed.stdout).toMatch(/^NAME\s+SINK\s+AGE\s+READY\s+REASON/m);
    expect(listed.stdout).toMatch(new RegExp(`testevents\\s+http://127\\.0\\.0\\.1:${wisp!.ports.ingress}/${ns}/event-display\\s+\\S+\\s+True`));
    const ceTypes = await jsonpath(kubectl, ns, 'apiserversource/testevents', '{.status.ceAttributes[*].type}');
    expect(ceTypes.split(' ').sort()).toEqual(['dev.knative.apiserver.resource.add', 'dev.knative.apiserver.resource.delete', 'dev.knative.apiserver.resource.update']);
    expect(await jsonpath(kubectl, ns, 'apiserversource/testevents', '{.status.ceAttributes[0].source}')).toBe(apiServerUrl);

    await applyYaml(kubectl, eventYaml('wisp-e2e.1'));
    const { event, all } = await waitEvent('dev.knative.apiserver.resource.add', 'wisp-e2e.1');
    expect(event.headers['ce-source']).toBe(apiServerUrl);
    expect(event.headers['ce-subject']).toBe(`/apis/v1/namespaces/${ns}/events/wisp-e2e.1`);
    expect(event.headers['ce-kind']).toBe('Event');
    expect(event.headers['ce-namespace']).toBe(ns);
    expect(event.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(event.body) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; reason: string; message: string };
    expect(body).toMatchObject({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'wisp-e2e.1', namespace: ns }, reason: 'Started', message: 'Started container busybox' });
    // As Knative's adapter: objects that existed before the source started send nothing.
    expect(all.filter((r) => r.headers['ce-name'] === 'before-source.1')).toEqual([]);

    // A change and a delete of the same Event.
    expect((await kubectl(['patch', 'event', '-n', ns, 'wisp-e2e.1', '--type=merge', '-p', '{"message":"changed"}'])).code).toBe(0);
    const updated = await waitEvent('dev.knative.apiserver.resource.update', 'wisp-e2e.1');
    expect((JSON.parse(updated.event.body) as { message: string }).message).toBe('changed');
    expect((await kubectl(['delete', 'event', '-n', ns, 'wisp-e2e.1'])).code).toBe(0);
    await waitEvent('dev.knative.apiserver.resource.delete', 'wisp-e2e.1');
  });

  it('an apps/v1 Deployment source with a label selector (matchLabels and matchExpressions), mode Reference: only the matching Deployment, as a reference', async () => {
    await applyYaml(kubectl, roleYaml({ sa: 'deploy-sa', role: 'deploy-watcher', group: 'apps', resource: 'deployments' }));
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: shop-deployments
  namespace: ${ns}
spec:
  serviceAccountName: deploy-sa
  mode: Reference
  resources:
    - apiVersion: apps/v1
      kind: Deployment
      selector:
        matchLabels: {app: shop}
        matchExpressions:
          - {key: tier, operator: In, values: [web, api]}
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
`,
    );
    await waitReady('shop-deployments', 'True');
    // The two that do not match first: one watch delivers in order, so once the matching one arrived they would have too.
    await applyYaml(kubectl, deploymentYaml('blog-web', { app: 'blog', tier: 'web' }));
    await applyYaml(kubectl, deploymentYaml('shop-db', { app: 'shop', tier: 'db' }));
    await applyYaml(kubectl, deploymentYaml('shop-web', { app: 'shop', tier: 'web' }));
    const { event, all } = await waitEvent('dev.knative.apiserver.ref.add', 'shop-web');
    expect(event.headers['ce-source']).toBe(apiServerUrl);
    expect(event.headers['ce-subject']).toBe(`/apis/apps/v1/namespaces/${ns}/deployments/shop-web`);
    expect(event.headers['ce-kind']).toBe('Deployment');
    expect(JSON.parse(event.body)).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop-web', namespace: ns });
    const deploymentEvents = all.filter((r) => r.headers['ce-kind'] === 'Deployment');
    expect(deploymentEvents.every((r) => r.headers['ce-name'] === 'shop-web')).toBe(true);
    // Nor did Wisp's own Deployment (event-display-00001-deployment), which the selector leaves out.
  });

  it('a namespaceSelector watches every namespace whose labels match (status.namespaces), and one labelled later from then on', async () => {
    const [a, b] = [`${ns}-a`, `${ns}-b`];
    const label = `wisp-e2e-ass=${ns}`;
    for (const n of [a, b]) expect((await kubectl(['create', 'namespace', n])).code).toBe(0);
    expect((await kubectl(['label', 'namespace', a, label])).code).toBe(0);
    await applyYaml(kubectl, `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: multi-sa\n  namespace: ${ns}\n`);
    for (const n of [a, b]) {
      const bound = await kubectl(['create', 'rolebinding', 'multi-sa-view', '-n', n, '--clusterrole=view', `--serviceaccount=${ns}:multi-sa`]);
      expect(bound.code, bound.stderr).toBe(0);
    }
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: multi
  namespace: ${ns}
spec:
  serviceAccountName: multi-sa
  namespaceSelector:
    matchLabels: {wisp-e2e-ass: ${ns}}
  resources:
    - apiVersion: v1
      kind: ConfigMap
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
`,
    );
    const watched = async (want: string): Promise<void> => {
      await waitFor(
        async () =>
          (await jsonpath(kubectl, ns, 'apiserversource/multi', '{.status.namespaces[*]}')) === want &&
          (await conditionStatus(kubectl, ns, 'apiserversource/multi')) === 'True',
        { timeoutMs: 60_000, intervalMs: 200, what: `apiserversource multi watching ${want}, READY True` },
      );
    };
    await watched(a);
    const cm = (name: string, n: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${n}\n`;
    await applyYaml(kubectl, cm('in-b', b));
    await applyYaml(kubectl, cm('in-a', a));
    const inA = await waitEvent('dev.knative.apiserver.ref.add', 'in-a');
    expect(inA.event.headers['ce-namespace']).toBe(a);
    expect(inA.event.headers['ce-subject']).toBe(`/apis/v1/namespaces/${a}/configmaps/in-a`);
    expect(inA.all.filter((r) => r.headers['ce-namespace'] === b)).toEqual([]);

    expect((await kubectl(['label', 'namespace', b, label])).code).toBe(0);
    await watched(`${a} ${b}`);
    await applyYaml(kubectl, cm('in-b-later', b));
    const later = await waitEvent('dev.knative.apiserver.ref.add', 'in-b-later');
    expect(later.event.headers['ce-namespace']).toBe(b);
    // in-b existed before its namespace was watched: nothing for it, as for any object before the first list.
    expect(later.all.filter((r) => r.headers['ce-name'] === 'in-b')).toEqual([]);
  });

  it('a ServiceAccount without rights: READY False with reason Forbidden and the API server\'s message (kubectl get apiserversource); granting the Role makes it Ready and its events flow', async () => {
    await applyYaml(kubectl, roleYaml({ sa: 'nobody', role: 'configmap-watcher', group: '', resource: 'configmaps', bind: false }));
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: no-rights
  namespace: ${ns}
spec:
  serviceAccountName: nobody
  resources:
    - apiVersion: v1
      kind: ConfigMap
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
`,
    );
    await waitReady('no-rights', 'False');
    const listed = await kubectl(['get', 'apiserversource', 'no-rights', '-n', ns]);
    expect(listed.stdout).toMatch(/no-rights\s+\S+\s+\S+\s+False\s+Forbidden/);
    const message = await jsonpath(kubectl, ns, 'apiserversource/no-rights', '{.status.conditions[?(@.type=="Ready")].message}');
    expect(message).toContain(`system:serviceaccount:${ns}:nobody`);
    expect(message).toContain('configmaps');
    expect(await jsonpath(kubectl, ns, 'apiserversource/no-rights', '{.status.conditions[?(@.type=="Deployed")].reason}')).toBe('Forbidden');

    await applyYaml(kubectl, bindingYaml('nobody', 'configmap-watcher'));
    await waitReady('no-rights', 'True');
    await applyYaml(kubectl, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-grant\n  namespace: ${ns}\ndata:\n  k: v\n`);
    const { event } = await waitEvent('dev.knative.apiserver.ref.add', 'after-grant');
    expect(event.headers['ce-kind']).toBe('ConfigMap');
    expect(JSON.parse(event.body)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', name: 'after-grant', namespace: ns });
  });

  it('a kind the cluster does not serve: READY False with reason ResourceNotFound, naming it', async () => {
    await applyYaml(
      kubectl,
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: no-such-kind
  namespace: ${ns}
spec:
  resources:
    - apiVersion: example.com/v1
      kind: Widget
  sink:
    uri: http://127.0.0.1:9/
`,
    );
    await waitReady('no-such-kind', 'False');
    expect(await jsonpath(kubectl, ns, 'apiserversource/no-such-kind', '{.status.conditions[?(@.type=="Ready")].reason}')).toBe('ResourceNotFound');
    expect(await jsonpath(kubectl, ns, 'apiserversource/no-such-kind', '{.status.conditions[?(@.type=="Ready")].message}')).toContain('example.com/v1 Widget');
  });
});

describe('Kubernetes mode: ApiServerSource through a kill -9 of the API server (e2e)', () => {
  const rns = 'ass-restart';
  let cp: ControlPlane | undefined;
  let k: Kubectl;
  let w: WispProcess | undefined;
  let recorder: Recorder | undefined;

  const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${rns}\ndata:\n  k: v\n`;
  const adds = (name: string) => recorder!.ofType('dev.knative.apiserver.ref.add').filter((r) => r.headers['ce-name'] === name);

  beforeAll(async () => {
    cp = await startControlPlane();
    k = (args, opts) => cp!.kubectl(args, opts);
    await installCrdsAndNamespace(k, rns);
    recorder = await new Recorder().start();
    w = await startWispOnKubernetes(cp.kubeconfigPath, rns);
  }, 180_000);

  afterAll(async () => {
    await w?.cleanup();
    await cp?.stop();
    await recorder?.stop();
  }, 60_000);

  it('the watch failure is logged with its reason (ApiServerUnreachable), nothing crashes, and after the restart the source is Ready and new changes arrive, old ones not again', async () => {
    await applyYaml(k, roleYaml({ sa: 'cm-sa', role: 'cm-watcher', group: '', resource: 'configmaps', namespace: rns }));
    await applyYaml(
      k,
      `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: cms
  namespace: ${rns}
spec:
  serviceAccountName: cm-sa
  resources:
    - apiVersion: v1
      kind: ConfigMap
  sink:
    uri: ${recorder!.url}
`,
    );
    await waitReady('cms', 'True', k, rns);
    await applyYaml(k, configMap('before-outage'));
    await waitFor(() => adds('before-outage').length === 1, { timeoutMs: 30_000, what: 'ref.add of before-outage' });
    const pid = w!.pid;

    await cp!.killApiServer();
    await waitFor(() => w!.output.includes(`apiserversource ${rns}/cms: ApiServerUnreachable`), { timeoutMs: 30_000, what: 'the unreachable API server logged' });
    await cp!.startApiServer();

    await waitReady('cms', 'True', k, rns);
    await applyYaml(k, configMap('after-restart'));
    await waitFor(() => adds('after-restart').length === 1, { timeoutMs: 60_000, intervalMs: 300, what: 'ref.add of after-restart' });
    expect(adds('before-outage')).toHaveLength(1);
    expect(w!.pid).toBe(pid);
    expect(w!.child?.exitCode).toBeNull();
  }, 180_000);
});
