/**
 * Kubernetes mode: Knative's `knative-serving/config-defaults`, read and watched, driven with kubectl; and `wisp apply`
 * against `wisp up --runtime kubernetes` accepting what only Kubernetes mode runs. On a control plane of its own
 * (without the controller-manager: only the objects Wisp writes are looked at), because config-defaults lives in
 * the cluster-wide `knative-serving` namespace that every Wisp of the shared control plane reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKubectl, startControlPlane, type ControlPlane } from '../support/k8s/index.js';
import { waitFor } from '../support/wait.js';
import type { WispProcess } from '../support/wisp.js';
import { yamlFile } from '../e2e/helpers.js';
import { applyYaml, CRDS_DIR, jsonpath, startWispOnKubernetes, type Kubectl } from './helpers.js';

const ns = 'defaults';
let cp: ControlPlane | undefined;
let wisp: WispProcess | undefined;
let kubectl: Kubectl;

const configDefaults = (data: Record<string, string>): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-defaults
  namespace: knative-serving
data:
${Object.entries(data)
  .map(([k, v]) => `  ${k}: "${v}"`)
  .join('\n')}
`;

// Neither containerConcurrency nor timeoutSeconds: config-defaults gives them.
const ksvc = (name: string, target: string, extra = ''): string => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  template:
    spec:
${extra}      containers:
        - image: example.com/hello
          env:
            - name: TARGET
              value: "${target}"
`;

interface RevisionSpecJson {
  containerConcurrency?: number;
  timeoutSeconds?: number;
  containers: { name?: string; resources?: unknown }[];
}

async function revisionSpec(name: string): Promise<RevisionSpecJson> {
  const spec = await waitFor(async () => (await jsonpath(kubectl, ns, `revision/${name}`, '{.spec}')) || undefined, {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: `revision ${ns}/${name}`,
  });
  return JSON.parse(spec) as RevisionSpecJson;
}

/** `kubectl edit` as a user does it, the editor a sed script. */
async function kubectlEdit(what: string, sed: string): Promise<void> {
  const r = await runKubectl(cp!.binaries.kubectl, cp!.kubeconfigPath, ['edit', '-n', 'knative-serving', what], {
    env: { ...process.env, KUBE_EDITOR: `sed -i -e '${sed}'` } as Record<string, string>,
  });
  expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(/edited/);
}

describe('Kubernetes mode: config-defaults read and watched, wisp apply by mode (e2e)', () => {
  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: false });
    kubectl = (args, opts) => cp!.kubectl(args, opts);
    expect((await kubectl(['apply', '-f', CRDS_DIR])).code).toBe(0);
    expect((await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'])).code).toBe(0);
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    expect((await kubectl(['create', 'namespace', 'knative-serving'])).code).toBe(0);
    // Applied before Wisp starts (it reads it at start); the edits below are picked up by the watch.
    await applyYaml(
      kubectl,
      configDefaults({ 'container-concurrency': '3', 'revision-timeout-seconds': '42', 'max-revision-timeout-seconds': '600', 'revision-cpu-request': '250m', 'revision-memory-limit': '1024Mi' }),
    );
    wisp = await startWispOnKubernetes(cp.kubeconfigPath, ns);
  }, 240_000);

  afterAll(async () => {
    await wisp?.cleanup();
    await cp?.stop();
  }, 60_000);

  it('a ksvc without containerConcurrency and timeoutSeconds gets config-defaults\' 3 and 42, and its resources in the Deployment', async () => {
    await applyYaml(kubectl, ksvc('hello', 'one'));
    expect(await revisionSpec('hello-00001')).toMatchObject({
      containerConcurrency: 3,
      timeoutSeconds: 42,
      containers: [{ name: 'user-container', resources: { requests: { cpu: '250m' }, limits: { memory: '1024Mi' } } }],
    });
    const resources = await waitFor(async () => (await jsonpath(kubectl, ns, 'deploy/hello-00001-deployment', '{.spec.template.spec.containers[0].resources}')) || undefined, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the Deployment of hello-00001',
    });
    // The API server spells 1024Mi as 1Gi: Wisp sees no change in that.
    expect(JSON.parse(resources)).toEqual({ requests: { cpu: '250m' }, limits: { memory: '1Gi' } });
    expect(await jsonpath(kubectl, ns, 'deploy/hello-00001-deployment', '{.spec.template.spec.terminationGracePeriodSeconds}')).toBe('42');
  });

  it('kubectl edit config-defaults is watched (no restart): nothing rolls, a ksvc over the old limit gets its Revision, the next revision gets the new values', async () => {
    // Over max-revision-timeout-seconds: no Revision, the ksvc says why (Wisp has no webhook to refuse it).
    await applyYaml(kubectl, ksvc('slow', 'slow', '      timeoutSeconds: 900\n'));
    await waitFor(async () => (await jsonpath(kubectl, ns, 'ksvc/slow', '{.status.conditions[?(@.type=="Ready")].reason}')) === 'RevisionFailed', {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'ksvc slow Ready False, RevisionFailed',
    });
    expect(await jsonpath(kubectl, ns, 'ksvc/slow', '{.status.conditions[?(@.type=="ConfigurationsReady")].message}')).toBe(
      'Revision creation failed with message: expected 0 <= 900 <= 600: spec.template.spec.timeoutSeconds.',
    );
    expect(await jsonpath(kubectl, ns, 'revisions', '{.items[*].metadata.name}')).toBe('hello-00001');

    await kubectlEdit('configmap/config-defaults', 's/container-concurrency: "3"/container-concurrency: "5"/; s/revision-timeout-seconds: "42"/revision-timeout-seconds: "60"/; s/max-revision-timeout-seconds: "600"/max-revision-timeout-seconds: "900"/');
    // The watch took the edit: the Service over the old limit is tried again and gets its Revision.
    expect(await revisionSpec('slow-00001')).toMatchObject({ timeoutSeconds: 900, containerConcurrency: 5 });
    expect((await revisionSpec('hello-00001'))).toMatchObject({ containerConcurrency: 3, timeoutSeconds: 42 });

    await applyYaml(kubectl, ksvc('hello', 'two'));
    expect(await revisionSpec('hello-00002')).toMatchObject({ containerConcurrency: 5, timeoutSeconds: 60 });
  });

  it('a config-defaults edited to a bad value is logged and the defaults before it kept; nothing crashes', async () => {
    await kubectlEdit('configmap/config-defaults', 's/revision-timeout-seconds: "60"/revision-timeout-seconds: "soon"/');
    await waitFor(() => wisp!.output.includes('config-defaults: data.revision-timeout-seconds: invalid value "soon": want an integer'), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the bad config-defaults logged',
    });
    await applyYaml(kubectl, ksvc('hello', 'three'));
    expect(await revisionSpec('hello-00003')).toMatchObject({ containerConcurrency: 5, timeoutSeconds: 60 });
    expect(wisp!.child?.exitCode).toBeNull();
  });

  it('wisp apply -f of an ApiServerSource of v1 Events and of a SinkBinding of a Deployment succeeds against --runtime kubernetes', async () => {
    const source = await yamlFile(`apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: events
  namespace: ${ns}
spec:
  mode: Resource
  serviceAccountName: events-sa
  resources:
    - apiVersion: v1
      kind: Event
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: hello
---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: bind-producer
  namespace: ${ns}
spec:
  subject:
    apiVersion: apps/v1
    kind: Deployment
    selector:
      matchLabels:
        app: producer
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: hello
`);
    const res = await wisp!.cli(['apply', '-f', source]);
    expect(res, res.stderr).toMatchObject({ code: 0, stdout: 'apiserversource.sources.knative.dev/events created\nsinkbinding.sources.knative.dev/bind-producer created\n' });
    expect(await jsonpath(kubectl, ns, 'apiserversource/events', '{.spec.resources[0].kind}')).toBe('Event');
  });
});
