/**
 * Wisp installed in the cluster: manifests/ (Namespaces, ServiceAccount, least-privilege RBAC, the `wisp`
 * Deployment and its three Services, Knative's ConfigMaps, the CRDs) against the real API server of the shared
 * control plane.
 *
 * 1. `kubectl apply --dry-run=server -R -f manifests/` accepts everything; the CRDs, Namespaces, ServiceAccount,
 *    RBAC and ConfigMaps are applied for real, and applying them again changes nothing.
 * 2. `kubectl auth can-i --as system:serviceaccount:wisp-system:wisp` says yes to each thing Wisp does (listed here
 *    from the code, not from the manifests) and no to the rest; `can-i --list` shows no grant beyond them.
 * 3. `wisp up --runtime kubernetes --leader-elect` runs with that ServiceAccount's token (not admin): it takes the
 *    Lease, a plain ksvc becomes READY and answers through the activator, a Broker + Trigger become Ready and
 *    deliver, and Wisp logs no "forbidden".
 *
 * The image itself cannot be built or run here (no container engine), so the Deployment is only dry-run; test 3 runs
 * the same `wisp up` from dist/ as a local process with the ServiceAccount's identity. The steps run in order. The
 * cluster-wide install objects (CRDs, wisp-system, the ClusterRole) are left in place, as crds.test.ts leaves the
 * CRDs: other files may use them and applying them is idempotent.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { COMPILED_SERVING_DEFAULTS, CONFIG_DEFAULTS_KEYS, parseDefaultsConfigMap } from '../../src/api/config-defaults.js';
import { SERVING_DEFAULTS } from '../../src/api/defaults.js';
import { httpRequest } from '../support/http.js';
import { kubectl, startTestKubelet, type KubectlResult } from '../support/k8s/index.js';
import type { Kubelet } from '../support/k8s/kubelet.js';
import { serviceAccountKubeconfig } from '../support/k8s/service-account.js';
import { waitFor } from '../support/wait.js';
import { ROOT, type WispProcess } from '../support/wisp.js';
import { applyYaml, CRDS_DIR, jsonpath, ksvcYaml, startWispOnKubernetes, TEST_IMAGES, waitKsvcReady } from './helpers.js';

const MANIFESTS = join(ROOT, 'manifests');
const SA = 'system:serviceaccount:wisp-system:wisp';
const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** Every object of manifests/*.yaml (not crds/), with its file. */
async function manifestObjects(): Promise<{ file: string; obj: Manifest }[]> {
  const out: { file: string; obj: Manifest }[] = [];
  for (const file of (await readdir(MANIFESTS)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(MANIFESTS, file), 'utf8'))) {
      const obj = doc.toJS() as Manifest | null;
      if (obj) out.push({ file, obj });
    }
  }
  return out;
}

/** `kind.group/name` as kubectl prints it (`deployment.apps/wisp`, `namespace/wisp-system`). */
function kubectlName(o: Manifest): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.metadata.name}`;
}

const output = (r: KubectlResult): string => `${r.stdout}\n${r.stderr}`;

/** kubectl apply; another test file creating the same object at the same moment can win the create: apply again then. */
async function apply(args: readonly string[], input?: string): Promise<KubectlResult> {
  const run = () => kubectl(['apply', ...args], input === undefined ? {} : { input });
  let r = await run();
  for (let i = 0; i < 3 && r.code !== 0 && /AlreadyExists|the object has been modified/.test(output(r)); i++) r = await run();
  return r;
}

/** The objects kubectl reported, with what it did: `{ 'clusterrole.rbac.authorization.k8s.io/wisp': 'unchanged' }`. */
function applied(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (created|configured|unchanged)/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const ns = `wisp-install-${randomUUID().slice(0, 8)}`;
let dir: string | undefined;
let kubelet: Kubelet | undefined;
let wisp: WispProcess | undefined;

describe('Wisp installed in the cluster: manifests/ on a real API server', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-install-'));
    const created = await kubectl(['create', 'namespace', ns]);
    expect(created.code, output(created)).toBe(0);
  });

  afterAll(async () => {
    await wisp?.cleanup();
    await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    await kubelet?.stop({ deleteNode: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  describe('manifests/ as written', () => {
    it('every object carries app.kubernetes.io/name wisp and the version of package.json; the image is that version', async () => {
      const objects = await manifestObjects();
      expect(objects.map(({ obj }) => kubectlName(obj)).sort()).toEqual(
        [
          'clusterrole.rbac.authorization.k8s.io/wisp',
          'clusterrole.rbac.authorization.k8s.io/wisp-sinkbinding-jobs',
          'clusterrole.rbac.authorization.k8s.io/wisp-source-impersonator',
          'clusterrolebinding.rbac.authorization.k8s.io/wisp',
          'configmap/config-autoscaler',
          'configmap/config-defaults',
          'configmap/config-domain',
          'deployment.apps/wisp',
          'namespace/knative-serving',
          'namespace/wisp-system',
          'role.rbac.authorization.k8s.io/wisp-leader-election',
          'rolebinding.rbac.authorization.k8s.io/wisp-leader-election',
          'service/wisp-activator',
          'service/wisp-broker-ingress',
          'service/wisp-controller',
          'serviceaccount/wisp',
        ].sort(),
      );
      for (const { file, obj } of objects) {
        expect(obj.metadata.labels?.['app.kubernetes.io/name'], `${file} ${kubectlName(obj)}`).toBe('wisp');
        expect(obj.metadata.labels?.['app.kubernetes.io/version'], `${file} ${kubectlName(obj)}`).toBe(VERSION);
      }
      const deploy = objects.find(({ obj }) => obj.kind === 'Deployment')!.obj as unknown as DeploymentManifest;
      expect(deploy.spec.template.spec.containers[0]!.image).toBe(`wisp:${VERSION}`);
    });

    it('the Deployment runs `wisp up --runtime kubernetes` bound to 0.0.0.0 as the wisp ServiceAccount, non-root, with probes on /readyz and /healthz; the three Services select its Pods on its named ports', async () => {
      const objects = (await manifestObjects()).map(({ obj }) => obj);
      const deploy = objects.find((o) => o.kind === 'Deployment') as unknown as DeploymentManifest;
      const pod = deploy.spec.template;
      const c = pod.spec.containers[0]!;
      expect(pod.spec.serviceAccountName).toBe('wisp');
      expect(c.args.slice(0, 3)).toEqual(['up', '--runtime', 'kubernetes']);
      expect(c.args[c.args.indexOf('--host') + 1]).toBe('0.0.0.0');
      expect(c.args[c.args.indexOf('--api-host') + 1]).toBe('0.0.0.0');
      // Two replicas, one leader: a rolling update would wait forever for a new Pod that cannot lead (see the manifest).
      expect(c.args).toContain('--leader-elect');
      expect(deploy.spec.replicas).toBe(2);
      expect(deploy.spec.strategy.type).toBe('Recreate');
      expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-api' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-api' });
      const ports = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
      expect(ports).toEqual({ http: 8080, 'http-broker': 8081, 'http-api': 8090 });

      const services = objects.filter((o) => o.kind === 'Service') as unknown as ServiceManifest[];
      const byName = Object.fromEntries(services.map((s) => [s.metadata.name, s.spec]));
      expect(byName['wisp-activator']).toMatchObject({ type: 'LoadBalancer', ports: [{ port: 80, targetPort: 'http' }] });
      expect(byName['wisp-broker-ingress']).toMatchObject({ type: 'ClusterIP', ports: [{ port: 80, targetPort: 'http-broker' }] });
      expect(byName['wisp-controller']).toMatchObject({ type: 'ClusterIP', ports: [{ port: 8090, targetPort: 'http-api' }] });
      for (const s of services) {
        expect(s.metadata.namespace).toBe('wisp-system');
        for (const [k, v] of Object.entries(s.spec.selector)) expect(pod.metadata.labels[k], `${s.metadata.name} selects ${k}=${v}`).toBe(v);
      }
    });

    it('config-defaults (read and watched) parses to exactly the serving defaults the code uses, its resource keys only in _example; config-domain has no domain but its _example', async () => {
      const objects = (await manifestObjects()).map(({ obj }) => obj as Manifest & { data?: Record<string, string> });
      const defaults = objects.find((o) => o.metadata.name === 'config-defaults')!;
      expect(Object.keys(defaults.data ?? {}).sort()).toEqual(
        ['_example', 'container-concurrency', 'container-concurrency-max-limit', 'container-name-template', 'max-revision-timeout-seconds', 'revision-timeout-seconds'].sort(),
      );
      expect(parseDefaultsConfigMap(defaults.data)).toEqual(COMPILED_SERVING_DEFAULTS);
      expect(defaults.data?.['revision-timeout-seconds']).toBe(String(SERVING_DEFAULTS.timeoutSeconds));
      const example = Object.fromEntries([...(defaults.data?._example ?? '').matchAll(/^([a-z-]+): "([^"]*)"$/gm)].map((m) => [m[1], m[2]]));
      // Knative's resource defaults, documented but unset (Knative sets none unless told); each parses.
      expect(Object.keys(example).sort()).toEqual(CONFIG_DEFAULTS_KEYS.filter((k) => k.startsWith('revision-') && /-(request|limit)$/.test(k)).sort());
      expect(() => parseDefaultsConfigMap(example as Record<string, string>)).not.toThrow();
      const domain = objects.find((o) => o.metadata.name === 'config-domain')!;
      expect(Object.keys(domain.data ?? {})).toEqual(['_example']);
      for (const name of ['config-autoscaler', 'config-domain', 'config-defaults']) {
        expect(objects.find((o) => o.metadata.name === name)?.metadata.namespace).toBe('knative-serving');
      }
    });
  });

  it('kubectl apply --dry-run=server -R -f manifests/ accepts everything; the CRDs, Namespaces, ServiceAccount, RBAC and ConfigMaps apply for real, and again unchanged', async () => {
    const objects = (await manifestObjects()).map(({ obj }) => obj);

    // The Namespaces first, for real: a namespaced object cannot be created, not even as a server-side dry run, in a
    // namespace that does not exist yet (a plain `kubectl apply -R -f manifests/` creates them first, by file name).
    const namespaces = await apply(['-f', join(MANIFESTS, '100-namespaces.yaml')]);
    expect(namespaces.code, output(namespaces)).toBe(0);

    const dry = await kubectl(['apply', '--dry-run=server', '-R', '-f', MANIFESTS]);
    expect(dry.code, output(dry)).toBe(0);
    for (const o of objects) expect(dry.stdout, kubectlName(o)).toMatch(new RegExp(`^${kubectlName(o).replace(/\./g, '\\.')} (created|configured|unchanged) \\(server dry run\\)$`, 'm'));
    const crdFiles = (await readdir(CRDS_DIR)).filter((f) => f.endsWith('.yaml'));
    expect(crdFiles.length).toBeGreaterThan(0);
    for (const f of crdFiles) expect(dry.stdout).toContain(`customresourcedefinition.apiextensions.k8s.io/${f.replace(/\.yaml$/, '')}`);
    // wisp-system enforces the restricted Pod Security Standard; the API server warns when a Deployment's Pods would not meet it.
    expect(dry.stderr).not.toMatch(/would violate PodSecurity/);

    // For real: the CRDs, the ServiceAccount and RBAC as they are.
    const crds = await apply(['-f', CRDS_DIR]);
    expect(crds.code, output(crds)).toBe(0);
    const waited = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crdFiles.map((f) => `crd/${f.replace(/\.yaml$/, '')}`)]);
    expect(waited.code, output(waited)).toBe(0);
    const rbacFiles = ['-f', join(MANIFESTS, '200-serviceaccount.yaml'), '-f', join(MANIFESTS, '201-rbac.yaml')];
    const rbac = await apply(rbacFiles);
    expect(rbac.code, output(rbac)).toBe(0);
    // The ConfigMaps for real, in this file's namespace: knative-serving's are shared with the other test files
    // running now (they apply a fast config-autoscaler and their own config-domain there), which these would undo.
    const configMaps = objects
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => stringify({ ...o, metadata: { ...o.metadata, namespace: ns } }))
      .join('---\n');
    const cms = await apply(['-f', '-'], configMaps);
    expect(cms.code, output(cms)).toBe(0);
    expect(Object.keys(applied(cms.stdout)).sort()).toEqual(['configmap/config-autoscaler', 'configmap/config-defaults', 'configmap/config-domain']);

    // Again: nothing changes.
    const rbacAgain = await apply(rbacFiles);
    expect(rbacAgain.code, output(rbacAgain)).toBe(0);
    expect(applied(rbacAgain.stdout)).toEqual({
      'serviceaccount/wisp': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp': 'unchanged',
      'clusterrolebinding.rbac.authorization.k8s.io/wisp': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp-source-impersonator': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp-sinkbinding-jobs': 'unchanged',
      'role.rbac.authorization.k8s.io/wisp-leader-election': 'unchanged',
      'rolebinding.rbac.authorization.k8s.io/wisp-leader-election': 'unchanged',
    });
    const cmsAgain = await apply(['-f', '-'], configMaps);
    expect(cmsAgain.code, output(cmsAgain)).toBe(0);
    expect(Object.values(applied(cmsAgain.stdout))).toEqual(['unchanged', 'unchanged', 'unchanged']);
    const crdsAgain = await apply(['-f', CRDS_DIR]);
    expect(crdsAgain.code, output(crdsAgain)).toBe(0);
    expect(new Set(Object.values(applied(crdsAgain.stdout)))).toEqual(new Set(['unchanged']));
    const namespacesAgain = await apply(['-f', join(MANIFESTS, '100-namespaces.yaml')]);
    expect(namespacesAgain.code, output(namespacesAgain)).toBe(0);
    expect(applied(namespacesAgain.stdout)['namespace/wisp-system']).toBe('unchanged');
    // knative-serving is also applied (without labels) by other test files with their own last-applied configuration,
    // so it may be "configured" here: it is accepted either way.
    expect(applied(namespacesAgain.stdout)['namespace/knative-serving']).toMatch(/^(unchanged|configured)$/);
  });

  describe('the ServiceAccount can do what Wisp does, and nothing more (kubectl auth can-i --as ' + SA + ')', () => {
    /** What Wisp does, from the code (src/control/kube/store.ts, src/runtime/kubernetes/, src/platform/seams.ts). */
    const ALLOWED: Check[] = [
      // KubeStore: list-watch cache of every kind it serves, GET to re-read after a conflict.
      ...verbs(['get', 'list', 'watch'], [
        'services.serving.knative.dev',
        'configurations.serving.knative.dev',
        'revisions.serving.knative.dev',
        'routes.serving.knative.dev',
        'brokers.eventing.knative.dev',
        'triggers.eventing.knative.dev',
        'pingsources.sources.knative.dev',
        'kafkasources.sources.knative.dev',
        'apiserversources.sources.knative.dev',
        'containersources.sources.knative.dev',
        'sinkbindings.sources.knative.dev',
      ]),
      // The serving reconciler's children: created, replaced, deleted.
      ...verbs(['create', 'update', 'delete'], ['configurations.serving.knative.dev', 'revisions.serving.knative.dev', 'routes.serving.knative.dev']),
      // Status through the status subresource, for every kind reconciled.
      ...verbs(['update'], [
        'services.serving.knative.dev',
        'configurations.serving.knative.dev',
        'revisions.serving.knative.dev',
        'routes.serving.knative.dev',
        'brokers.eventing.knative.dev',
        'triggers.eventing.knative.dev',
        'pingsources.sources.knative.dev',
        'kafkasources.sources.knative.dev',
        'apiserversources.sources.knative.dev',
        'containersources.sources.knative.dev',
        'sinkbindings.sources.knative.dev',
      ], 'status'),
      // blockOwnerDeletion on the Deployments (and Services) Wisp owns to a Revision or a ContainerSource
      // (OwnerReferencesPermissionEnforcement).
      { verb: 'update', resource: 'revisions.serving.knative.dev', sub: 'finalizers' },
      { verb: 'update', resource: 'containersources.sources.knative.dev', sub: 'finalizers' },
      // The runtime: a Deployment and a Service per Revision, scaled through /scale; a ContainerSource's Deployment;
      // a SinkBinding's subject Deployments merge-patched; EndpointSlices and Pods read.
      ...verbs(['get', 'list', 'watch', 'create', 'update', 'delete'], ['deployments.apps', 'services']),
      { verb: 'patch', resource: 'deployments.apps' },
      // A SinkBinding's subject Jobs, read.
      ...verbs(['list', 'watch'], ['jobs.batch']),
      { verb: 'patch', resource: 'deployments.apps', sub: 'scale' },
      ...verbs(['list', 'watch'], ['endpointslices.discovery.k8s.io', 'pods', 'configmaps']),
      // ApiServerSource's namespaceSelector, matched as Wisp's own identity.
      ...verbs(['list', 'watch'], ['namespaces']),
      // Leader election: the Lease wisp-controller in wisp-system.
      { verb: 'create', resource: 'leases.coordination.k8s.io', ns: 'wisp-system' },
      { verb: 'get', resource: 'leases.coordination.k8s.io/wisp-controller', ns: 'wisp-system' },
      { verb: 'update', resource: 'leases.coordination.k8s.io/wisp-controller', ns: 'wisp-system' },
    ];

    const DENIED: Check[] = [
      { verb: '*', resource: '*' },
      { verb: 'create', resource: 'clusterrolebindings.rbac.authorization.k8s.io' },
      { verb: 'create', resource: 'rolebindings.rbac.authorization.k8s.io', ns: 'wisp-system' },
      { verb: 'escalate', resource: 'clusterroles.rbac.authorization.k8s.io' },
      { verb: 'bind', resource: 'clusterroles.rbac.authorization.k8s.io' },
      { verb: 'impersonate', resource: 'serviceaccounts' },
      { verb: 'delete', resource: 'nodes' },
      { verb: 'get', resource: 'nodes' },
      ...verbs(['get', 'create', 'delete'], ['namespaces']),
      { verb: 'create', resource: 'customresourcedefinitions.apiextensions.k8s.io' },
      { verb: 'get', resource: 'secrets' },
      { verb: 'list', resource: 'secrets' },
      { verb: 'get', resource: 'secrets', ns: 'wisp-system' },
      { verb: 'create', resource: 'serviceaccounts', sub: 'token' },
      // Pods are read, never written; exec would be a way out of RBAC.
      ...verbs(['get', 'create', 'delete'], ['pods']),
      { verb: 'create', resource: 'pods', sub: 'exec' },
      // ConfigMaps are read, never written.
      ...verbs(['get', 'create', 'update', 'patch', 'delete'], ['configmaps']),
      // Users own ksvcs, Brokers, Triggers and sources; Wisp writes only their status.
      ...verbs(['create', 'update', 'patch', 'delete'], [
        'services.serving.knative.dev',
        'brokers.eventing.knative.dev',
        'triggers.eventing.knative.dev',
        'pingsources.sources.knative.dev',
        'containersources.sources.knative.dev',
        'sinkbindings.sources.knative.dev',
      ]),
      // No patch where Wisp updates, no update where it patches, no writes to EndpointSlices or Jobs.
      { verb: 'patch', resource: 'services' },
      { verb: 'update', resource: 'deployments.apps', sub: 'scale' },
      ...verbs(['get', 'create', 'update', 'patch', 'delete'], ['jobs.batch']),
      // Admission policies (SinkBindings of Jobs) only where an admin binds wisp-sinkbinding-jobs.
      ...verbs(['list', 'create', 'update', 'delete'], ['mutatingadmissionpolicies.admissionregistration.k8s.io', 'validatingadmissionpolicies.admissionregistration.k8s.io']),
      { verb: 'create', resource: 'mutatingadmissionpolicybindings.admissionregistration.k8s.io' },
      { verb: 'create', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io' },
      { verb: 'create', resource: 'endpointslices.discovery.k8s.io' },
      { verb: 'create', resource: 'events' },
      // ApiServerSource's users grant what their sources watch, and Wisp the right to act as their ServiceAccount.
      { verb: 'impersonate', resource: 'serviceaccounts', ns: 'default' },
      { verb: 'impersonate', resource: 'serviceaccounts', ns: 'kube-system' },
      // Leases: only wisp-controller, only in wisp-system.
      { verb: 'create', resource: 'leases.coordination.k8s.io', ns: 'default' },
      { verb: 'get', resource: 'leases.coordination.k8s.io/kube-controller-manager', ns: 'kube-system' },
      { verb: 'update', resource: 'leases.coordination.k8s.io/other', ns: 'wisp-system' },
      { verb: 'delete', resource: 'leases.coordination.k8s.io/wisp-controller', ns: 'wisp-system' },
    ];

    it('yes to each verb and resource Wisp uses (every namespace; leases in wisp-system)', async () => {
      const answers = await canIAll(ALLOWED);
      expect(answers.filter((a) => a.answer !== 'yes').map((a) => `${a.what}: ${a.answer}`)).toEqual([]);
    });

    it('no to everything else: RBAC objects, Nodes, Secrets, Pod writes and exec, ConfigMap writes, ksvc/Broker/Trigger writes, other Leases, * on *', async () => {
      const answers = await canIAll(DENIED);
      expect(answers.filter((a) => a.answer !== 'no').map((a) => `${a.what}: ${a.answer}`)).toEqual([]);
    });

    it('kubectl auth can-i --list shows no grant beyond those (cluster-wide, and in wisp-system), other than what every authenticated user gets', async () => {
      // The baseline: this file's namespace's `default` ServiceAccount, bound to nothing.
      const nobody = `system:serviceaccount:${ns}:default`;
      const expected = grants(ALLOWED.filter((c) => c.ns === undefined));
      expect(await listedGrants('default', SA, nobody)).toEqual(expected);
      expect(await listedGrants(ns, SA, nobody)).toEqual(expected);
      expect(await listedGrants('wisp-system', SA, nobody)).toEqual(grants(ALLOWED));
    });

    it("an ApiServerSource user's RoleBinding to wisp-source-impersonator lets Wisp act as that namespace's ServiceAccounts, and no others", async () => {
      expect((await canI({ verb: 'impersonate', resource: 'serviceaccounts', ns })).answer).toBe('no');
      const bound = await kubectl(['-n', ns, 'create', 'rolebinding', 'wisp-source-impersonator', '--clusterrole=wisp-source-impersonator', '--serviceaccount=wisp-system:wisp']);
      expect(bound.code, output(bound)).toBe(0);
      const answers = await canIAll([
        { verb: 'impersonate', resource: 'serviceaccounts/default', ns },
        { verb: 'impersonate', resource: 'serviceaccounts', ns: 'default' },
        { verb: 'impersonate', resource: 'serviceaccounts', ns: 'kube-system' },
        { verb: 'impersonate', resource: 'serviceaccounts' },
      ]);
      expect(answers.map((a) => a.answer)).toEqual(['yes', 'no', 'no', 'no']);
    });

    it("an admin's ClusterRoleBinding to wisp-sinkbinding-jobs lets Wisp write the admission policies that bind Jobs (and only those)", async () => {
      const name = `wisp-sinkbinding-jobs-${ns}`;
      const bound = await kubectl(['create', 'clusterrolebinding', name, '--clusterrole=wisp-sinkbinding-jobs', '--serviceaccount=wisp-system:wisp']);
      expect(bound.code, output(bound)).toBe(0);
      try {
        const policies = 'mutatingadmissionpolicies.admissionregistration.k8s.io';
        const bindings = 'mutatingadmissionpolicybindings.admissionregistration.k8s.io';
        const answers = await canIAll([
          ...verbs(['get', 'list', 'create', 'update', 'delete'], [policies]),
          ...verbs(['get', 'create', 'update', 'delete'], [bindings]),
          { verb: 'create', resource: 'validatingadmissionpolicies.admissionregistration.k8s.io' },
          { verb: 'create', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io' },
        ]);
        expect(answers.map((a) => `${a.what}: ${a.answer}`)).toEqual([...answers.slice(0, 9).map((a) => `${a.what}: yes`), ...answers.slice(9).map((a) => `${a.what}: no`)]);
      } finally {
        const removed = await kubectl(['delete', 'clusterrolebinding', name]);
        expect(removed.code, output(removed)).toBe(0);
      }
    });
  });

  it('wisp up --runtime kubernetes --leader-elect with the ServiceAccount token (not admin): it leads; a plain ksvc READY True and answering through the activator; a Broker + Trigger Ready and delivering to a ksvc; no request forbidden', async () => {
    const sa = await serviceAccountKubeconfig(kubectl, { namespace: 'wisp-system', serviceAccount: 'wisp', dir: dir!, durationSeconds: 3600 });
    const whoami = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig: sa.kubeconfigPath });
    expect(whoami.stdout.trim(), output(whoami)).toBe(SA);
    // Not admin: the token cannot read Secrets.
    const secrets = await kubectl(['get', 'secrets', '-A'], { kubeconfig: sa.kubeconfigPath });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toMatch(/forbidden/i);

    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    // As the Deployment runs it: leader-elected on the Lease wisp-system/wisp-controller (only this file uses that one).
    wisp = await startWispOnKubernetes(sa.kubeconfigPath, ns, { WISP_LEADER_ELECT: 'true', WISP_REDIS_PREFIX: `wisp-install-${randomUUID().slice(0, 8)}` });
    expect(await jsonpath(kubectl, 'wisp-system', 'lease/wisp-controller', '{.spec.holderIdentity}')).not.toBe('');

    // Applied as the admin (a user), reconciled by Wisp as the ServiceAccount.
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'Install' }));
    await waitKsvcReady(kubectl, ns, 'hello', 90_000);
    // Every ksvc answers on <name>.<namespace>.localhost, whatever config-domain other files set meanwhile.
    const res = await httpRequest({ port: wisp.ports.ingress, host: `hello.${ns}.localhost`, timeoutMs: 30_000 });
    expect(res.status, res.body).toBe(200);
    expect(res.body).toBe('Hello Install! (revision hello-00001)\n');
    expect(await jsonpath(kubectl, ns, 'deploy/hello-00001-deployment', '{.status.readyReplicas}')).toBe('1');

    await applyYaml(kubectl, ksvcYaml({ name: 'event-display', namespace: ns, image: 'example.com/event-display' }));
    await applyYaml(
      kubectl,
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: ${ns}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: hello-trigger
  namespace: ${ns}
spec:
  broker: default
  filter:
    attributes:
      type: dev.knative.samples.helloworld
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: event-display
`,
    );
    const ready = (kind: string, name: string) => jsonpath(kubectl, ns, `${kind}/${name}`, '{.status.conditions[?(@.type=="Ready")].status}');
    await waitKsvcReady(kubectl, ns, 'event-display', 90_000);
    await waitFor(async () => (await ready('broker', 'default')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'broker READY True' });
    await waitFor(async () => (await ready('trigger', 'hello-trigger')) === 'True', { timeoutMs: 30_000, intervalMs: 200, what: 'trigger READY True' });

    const posted = await httpRequest({
      port: wisp.ports.broker,
      path: `/${ns}/default`,
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'install-1', 'ce-source': '/e2e/install', 'ce-type': 'dev.knative.samples.helloworld', 'content-type': 'application/json' },
      body: JSON.stringify({ msg: 'Hello from the install test' }),
    });
    expect(posted.status, posted.body).toBe(202);
    const seen = await waitFor(
      async () => {
        const r = await httpRequest({ port: wisp!.ports.ingress, host: `event-display.${ns}.localhost`, path: '/_seen', timeoutMs: 30_000 });
        const posts = (JSON.parse(r.body) as { method: string; headers: Record<string, string> }[]).filter((s) => s.method === 'POST');
        return posts.length > 0 ? posts : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the event at the event-display Pod' },
    );
    expect(seen.map((s) => s.headers['ce-id'])).toEqual(['install-1']);

    // The CLI reads the same objects through Wisp's control API (its cache of what the ServiceAccount may list).
    const wget = await wisp.cli(['get', 'ksvc', '-n', ns]);
    expect(wget.code, wget.stderr).toBe(0);
    expect(wget.stdout).toMatch(/^hello\s+http:\/\/hello\..*\s+hello-00001\s+hello-00001\s+True/m);

    // A missing rule shows as a refused request in Wisp's log even where it retries around it.
    expect(wisp.output).not.toMatch(/forbidden/i);
  }, 240_000);
});

interface Check {
  verb: string;
  /** `resource[.group][/name]` as kubectl takes it. */
  resource: string;
  sub?: string;
  /** Checked in this namespace; default every namespace (-A). */
  ns?: string;
}

function verbs(vs: readonly string[], resources: readonly string[], sub?: string): Check[] {
  return resources.flatMap((resource) => vs.map((verb) => (sub === undefined ? { verb, resource } : { verb, resource, sub })));
}

const describeCheck = (c: Check): string => `${c.verb} ${c.resource}${c.sub ? ` --subresource=${c.sub}` : ''} ${c.ns ? `-n ${c.ns}` : '-A'}`;

async function canI(c: Check): Promise<{ what: string; answer: string }> {
  const args = ['auth', 'can-i', c.verb, c.resource, ...(c.sub ? [`--subresource=${c.sub}`] : []), ...(c.ns ? ['-n', c.ns] : ['-A']), `--as=${SA}`];
  const r = await kubectl(args);
  // kubectl answers "no" with a warning for a resource the server does not know: a typo here must not pass as "no".
  if (/doesn't have a resource type/.test(r.stderr)) return { what: describeCheck(c), answer: `unknown resource (${r.stderr.trim()})` };
  const answer = r.stdout.trim().split('\n')[0] ?? '';
  if ((answer === 'yes' && r.code !== 0) || (answer === 'no' && r.code !== 1)) return { what: describeCheck(c), answer: `exit ${r.code}: ${output(r).trim()}` };
  return { what: describeCheck(c), answer: answer || output(r).trim() };
}

/** can-i for every check, four at a time. */
async function canIAll(checks: readonly Check[]): Promise<{ what: string; answer: string }[]> {
  const out: { what: string; answer: string }[] = [];
  for (let i = 0; i < checks.length; i += 4) out.push(...(await Promise.all(checks.slice(i, i + 4).map(canI))));
  return out;
}

/** Checks as `can-i --list` rows: `resource[/sub] [names]` → sorted verbs. */
function grants(checks: readonly Check[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const c of checks) {
    const [resource, name] = c.resource.split('/');
    const key = `${resource}${c.sub ? `/${c.sub}` : ''} [${name ?? ''}]`;
    (out[key] ??= new Set()).add(c.verb);
  }
  return sortedGrants(out);
}

function sortedGrants(grants: Record<string, Set<string>>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of Object.keys(grants).sort()) out[key] = [...(grants[key] ?? [])].sort();
  return out;
}

/**
 * `kubectl auth can-i --list -n ns --as SA`, as grants, without non-resource URLs and without what `baseline` (a
 * ServiceAccount with no bindings of its own) may do too: what every authenticated ServiceAccount gets
 * (system:basic-user's self reviews, the cluster's default reads such as clustertrustbundles).
 */
async function listedGrants(namespace: string, as = SA, baseline?: string): Promise<Record<string, string[]>> {
  const everyone = baseline === undefined ? {} : await listedGrants(namespace, baseline);
  const r = await kubectl(['auth', 'can-i', '--list', '--no-headers', '-n', namespace, `--as=${as}`]);
  expect(r.code, output(r)).toBe(0);
  const out: Record<string, Set<string>> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/.exec(line);
    if (!m || m[1] === '') continue;
    const names = m[3]!.trim().split(/\s+/).filter(Boolean);
    for (const name of names.length > 0 ? names : ['']) {
      const key = `${m[1]} [${name}]`;
      const set = (out[key] ??= new Set());
      for (const v of m[4]!.trim().split(/\s+/).filter(Boolean)) if (!everyone[key]?.includes(v)) set.add(v);
      if (set.size === 0) delete out[key];
    }
  }
  return sortedGrants(out);
}

interface DeploymentManifest {
  spec: {
    replicas: number;
    strategy: { type: string };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: { runAsNonRoot?: boolean };
        containers: {
          image: string;
          args: string[];
          ports: { name: string; containerPort: number }[];
          securityContext: Record<string, unknown>;
          readinessProbe: { httpGet: unknown };
          livenessProbe: { httpGet: unknown };
        }[];
      };
    };
  };
}

interface ServiceManifest {
  metadata: { name: string; namespace: string };
  spec: { type: string; selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
}
