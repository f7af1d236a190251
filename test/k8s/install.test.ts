/**
 * Wisp installed in the cluster: manifests/ (Namespaces, ServiceAccounts, least-privilege RBAC, one Deployment per
 * component (wisp-controller, wisp-activator, wisp-broker) with their Services and the controller's NetworkPolicy,
 * Knative's ConfigMaps, the CRDs) against the real API server of the shared control plane.
 *
 * 1. As written: each Deployment runs `wisp up --runtime kubernetes --component X` as its own ServiceAccount,
 *    non-root, with probes; each Service selects one component's Pods on a port they name; the NetworkPolicy admits
 *    the controller's stats port from activator Pods only.
 * 2. `kubectl apply --dry-run=server -R -f manifests/` accepts everything; the CRDs, Namespaces, ServiceAccounts,
 *    RBAC and ConfigMaps are applied for real, and applying them again changes nothing.
 * 3. `kubectl auth can-i --as system:serviceaccount:wisp-system:wisp` says yes to each thing Wisp does (listed here
 *    from the code, not from the manifests) and no to the rest; `can-i --list` shows no grant beyond them. The same
 *    for the data plane's wisp-activator and wisp-broker: yes to their reads, no to every write.
 * 4. `wisp up --runtime kubernetes --leader-elect` (the default `--component all`) runs with the wisp
 *    ServiceAccount's token (not admin): it takes the Lease, a plain ksvc becomes READY and answers through the
 *    activator, a Broker + Trigger become Ready and deliver, and Wisp logs no "forbidden".
 *
 * The image itself cannot be built or run here (no container engine), so the Deployments are only dry-run; test 4
 * runs `wisp up` from dist/ as a local process with the ServiceAccount's identity. The steps run in order. The
 * cluster-wide install objects (CRDs, wisp-system, the ClusterRoles) are left in place, as crds.test.ts leaves the
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
import { applyYaml, CRDS_DIR, jsonpath, ksvcYaml, startWispOnKubernetes, TEST_IMAGES, waitKsvcReady, brokerTriggerYaml } from './helpers.js';

const MANIFESTS = join(ROOT, 'manifests');
const SA = 'system:serviceaccount:wisp-system:wisp';
const ACTIVATOR_SA = 'system:serviceaccount:wisp-system:wisp-activator';
const BROKER_SA = 'system:serviceaccount:wisp-system:wisp-broker';

/** One Deployment per `--component`, as the contract of `wisp up` names them. */
const COMPONENTS = [
  { component: 'controller', deployment: 'wisp-controller', file: '500-controller.yaml', serviceAccount: 'wisp', ports: { 'http-autoscaler': 8082, 'http-api': 8090 } },
  { component: 'activator', deployment: 'wisp-activator', file: '510-activator.yaml', serviceAccount: 'wisp-activator', ports: { http: 8080, 'http-api': 8090 } },
  { component: 'broker', deployment: 'wisp-broker', file: '520-broker.yaml', serviceAccount: 'wisp-broker', ports: { 'http-broker': 8081, 'http-api': 8090 } },
] as const;
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
          'clusterrole.rbac.authorization.k8s.io/wisp-activator',
          'clusterrole.rbac.authorization.k8s.io/wisp-broker',
          'clusterrole.rbac.authorization.k8s.io/wisp-sinkbinding-jobs',
          'clusterrole.rbac.authorization.k8s.io/wisp-source-impersonator',
          'clusterrolebinding.rbac.authorization.k8s.io/wisp',
          'clusterrolebinding.rbac.authorization.k8s.io/wisp-activator',
          'clusterrolebinding.rbac.authorization.k8s.io/wisp-broker',
          'configmap/config-autoscaler',
          'configmap/config-defaults',
          'configmap/config-domain',
          'deployment.apps/wisp-activator',
          'deployment.apps/wisp-broker',
          'deployment.apps/wisp-controller',
          'namespace/knative-serving',
          'namespace/wisp-system',
          'networkpolicy.networking.k8s.io/wisp-controller',
          'role.rbac.authorization.k8s.io/wisp-activator-config',
          'role.rbac.authorization.k8s.io/wisp-leader-election',
          'rolebinding.rbac.authorization.k8s.io/wisp-activator-config',
          'rolebinding.rbac.authorization.k8s.io/wisp-leader-election',
          'service/wisp-activator',
          'service/wisp-autoscaler',
          'service/wisp-broker-ingress',
          'service/wisp-controller',
          'serviceaccount/wisp',
          'serviceaccount/wisp-activator',
          'serviceaccount/wisp-broker',
        ].sort(),
      );
      for (const { file, obj } of objects) {
        expect(obj.metadata.labels?.['app.kubernetes.io/name'], `${file} ${kubectlName(obj)}`).toBe('wisp');
        expect(obj.metadata.labels?.['app.kubernetes.io/version'], `${file} ${kubectlName(obj)}`).toBe(VERSION);
        // Every object of a component says which (Namespaces and Knative's ConfigMaps belong to none).
        if (!['Namespace', 'ConfigMap'].includes(obj.kind)) {
          expect(obj.metadata.labels?.['app.kubernetes.io/component'], `${file} ${kubectlName(obj)}`).toMatch(/^(controller|activator|broker)$/);
        }
      }
      // Each component's Deployment in its own file, its Pods labelled with the same version, the image that version.
      for (const c of COMPONENTS) {
        const found = objects.filter(({ obj }) => obj.kind === 'Deployment' && obj.metadata.name === c.deployment);
        expect(found.map(({ file }) => file), c.deployment).toEqual([c.file]);
        const deploy = found[0]!.obj as unknown as DeploymentManifest;
        expect(deploy.metadata.labels['app.kubernetes.io/component']).toBe(c.component);
        expect(deploy.spec.template.metadata.labels['app.kubernetes.io/version']).toBe(VERSION);
        expect(deploy.spec.template.spec.containers[0]!.image).toBe(`wisp:${VERSION}`);
      }
    });

    it('each Deployment runs `wisp up --runtime kubernetes --component X` bound to 0.0.0.0 as its own ServiceAccount, non-root, with probes on /readyz and /healthz, the downward API env and emptyDir state', async () => {
      const objects = (await manifestObjects()).map(({ obj }) => obj);
      const deployments = objects.filter((o) => o.kind === 'Deployment') as unknown as DeploymentManifest[];
      expect(deployments.map((d) => d.metadata.name).sort()).toEqual(COMPONENTS.map((c) => c.deployment).sort());
      for (const want of COMPONENTS) {
        const deploy = deployments.find((d) => d.metadata.name === want.deployment)!;
        const what = want.deployment;
        const pod = deploy.spec.template;
        expect(pod.spec.containers, what).toHaveLength(1);
        const c = pod.spec.containers[0]!;
        expect(deploy.metadata.namespace, what).toBe('wisp-system');
        expect(pod.spec.serviceAccountName, what).toBe(want.serviceAccount);
        expect(c.args.slice(0, 5), what).toEqual(['up', '--runtime', 'kubernetes', '--component', want.component]);
        const flag = (name: string) => (c.args.includes(name) ? c.args[c.args.indexOf(name) + 1] : undefined);
        expect(flag('--host'), what).toBe('0.0.0.0');
        expect(flag('--api-host'), what).toBe('0.0.0.0');
        expect(flag('--state-dir'), what).toBe('/var/lib/wisp');
        // The selector picks this component's Pods, and only those of the three Deployments.
        expect(deploy.spec.selector.matchLabels, what).toEqual({ 'app.kubernetes.io/name': 'wisp', 'app.kubernetes.io/component': want.component });
        for (const other of deployments) {
          expect(selects(deploy.spec.selector.matchLabels, other.spec.template.metadata.labels), `${what} selects the Pods of ${other.metadata.name}`).toBe(other === deploy);
        }
        expect(deploy.spec.replicas, what).toBe(2);
        if (want.component === 'controller') {
          // Two replicas, one leader: a rolling update would wait forever for a new Pod that cannot lead (see the manifest).
          expect(c.args, what).toContain('--leader-elect');
          expect(deploy.spec.strategy.type, what).toBe('Recreate');
          expect(flag('--autoscaler-port'), what).toBe('8082');
        } else {
          // The data plane has no leader: every replica is Ready, so it rolls one at a time without a gap.
          expect(c.args, what).not.toContain('--leader-elect');
          expect(deploy.spec.strategy, what).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
        }
        expect(pod.spec.securityContext.runAsNonRoot, what).toBe(true);
        expect(c.securityContext, what).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.startupProbe.httpGet, what).toEqual({ path: '/healthz', port: 'http-api' });
        expect(c.readinessProbe.httpGet, what).toEqual({ path: '/readyz', port: 'http-api' });
        expect(c.livenessProbe.httpGet, what).toEqual({ path: '/healthz', port: 'http-api' });
        const ports = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
        expect(ports, what).toEqual(want.ports);
        const env = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
        expect(env, what).toMatchObject({ WISP_LOG_FORMAT: 'json', POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', POD_IP: 'status.podIP' });
        // Every Wisp Pod takes the one token of the Secret wisp-api-token when it exists (optional): the controller
        // replicas share it across a leader change, and one token scrapes every Pod's /metrics.
        const secretEnv = c.env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [{ env: e.name, secret: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key, optional: e.valueFrom.secretKeyRef.optional }] : []));
        expect(secretEnv, what).toEqual([{ env: 'WISP_API_TOKEN', secret: 'wisp-api-token', key: 'token', optional: true }]);
        expect(c.resources.requests, what).toBeDefined();
        expect(c.resources.limits, what).toBeDefined();
        // The state dir and /tmp are emptyDirs (a read-only root filesystem otherwise).
        const volumes = Object.fromEntries(pod.spec.volumes.map((v) => [v.name, v]));
        const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m.name]));
        for (const path of ['/var/lib/wisp', '/tmp']) expect(volumes[mounts[path] ?? '']?.emptyDir, `${what} ${path}`).toEqual({});
      }
    });

    it('each Service selects one component\'s Pods on a port they name: wisp-activator (LoadBalancer :80), wisp-broker-ingress (:80), wisp-controller (:8090), wisp-autoscaler (:8082)', async () => {
      const objects = (await manifestObjects()).map(({ obj }) => obj);
      const deployments = objects.filter((o) => o.kind === 'Deployment') as unknown as DeploymentManifest[];
      const services = objects.filter((o) => o.kind === 'Service') as unknown as ServiceManifest[];
      const expected: Record<string, { type: string; port: number; targetPort: string; deployment: string; containerPort: number }> = {
        'wisp-activator': { type: 'LoadBalancer', port: 80, targetPort: 'http', deployment: 'wisp-activator', containerPort: 8080 },
        'wisp-broker-ingress': { type: 'ClusterIP', port: 80, targetPort: 'http-broker', deployment: 'wisp-broker', containerPort: 8081 },
        'wisp-controller': { type: 'ClusterIP', port: 8090, targetPort: 'http-api', deployment: 'wisp-controller', containerPort: 8090 },
        'wisp-autoscaler': { type: 'ClusterIP', port: 8082, targetPort: 'http-autoscaler', deployment: 'wisp-controller', containerPort: 8082 },
      };
      expect(services.map((s) => s.metadata.name).sort()).toEqual(Object.keys(expected).sort());
      for (const s of services) {
        const want = expected[s.metadata.name]!;
        expect(s.metadata.namespace).toBe('wisp-system');
        expect(s.spec.type, s.metadata.name).toBe(want.type);
        expect(s.spec.ports, s.metadata.name).toHaveLength(1);
        expect(s.spec.ports[0], s.metadata.name).toMatchObject({ port: want.port, targetPort: want.targetPort });
        // Exactly one Deployment's Pods, and the port is one they name.
        const selected = deployments.filter((d) => selects(s.spec.selector, d.spec.template.metadata.labels)).map((d) => d.metadata.name);
        expect(selected, `${s.metadata.name} selects`).toEqual([want.deployment]);
        const target = deployments.find((d) => d.metadata.name === want.deployment)!;
        const named = target.spec.template.spec.containers[0]!.ports.find((p) => p.name === want.targetPort);
        expect(named?.containerPort, `${s.metadata.name} → ${want.deployment}:${want.targetPort}`).toBe(want.containerPort);
      }
    });

    it('the NetworkPolicy admits the controller Pods\' stats port 8082 from activator Pods only and leaves the control API (8090) open', async () => {
      const objects = (await manifestObjects()).map(({ obj }) => obj);
      const deployments = objects.filter((o) => o.kind === 'Deployment') as unknown as DeploymentManifest[];
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as NetworkPolicyManifest[];
      expect(policies.map((p) => p.metadata.name)).toEqual(['wisp-controller']);
      const policy = policies[0]!;
      const podsOf = (selector: { matchLabels?: Record<string, string> }) =>
        deployments.filter((d) => selects(selector.matchLabels ?? {}, d.spec.template.metadata.labels)).map((d) => d.metadata.name);
      expect(policy.metadata.namespace).toBe('wisp-system');
      expect(podsOf(policy.spec.podSelector)).toEqual(['wisp-controller']);
      expect(policy.spec.policyTypes).toEqual(['Ingress']);
      const rulesFor = (port: number) => policy.spec.ingress.filter((r) => (r.ports ?? []).some((p) => p.port === port));
      // 8082: one rule, from Pods of this namespace (no namespaceSelector) that are the activator's, no others.
      const stats = rulesFor(8082);
      expect(stats).toHaveLength(1);
      expect(stats[0]!.from).toHaveLength(1);
      const peer = stats[0]!.from![0]!;
      expect(Object.keys(peer)).toEqual(['podSelector']);
      expect(peer.podSelector!.matchLabels?.['app.kubernetes.io/component']).toBe('activator');
      expect(podsOf(peer.podSelector!)).toEqual(['wisp-activator']);
      // 8090: open to every source (kubectl-like clients with the token, Prometheus, the probes).
      const api = rulesFor(8090);
      expect(api).toHaveLength(1);
      expect(api[0]!.from).toBeUndefined();
      // No other port and no rule without ports (which would admit every port).
      for (const r of policy.spec.ingress) {
        expect(r.ports, 'a rule without ports admits every port').toBeDefined();
        for (const p of r.ports!) expect([8082, 8090]).toContain(p.port);
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

  it('kubectl apply --dry-run=server -R -f manifests/ accepts everything; the CRDs, Namespaces, ServiceAccounts, RBAC and ConfigMaps apply for real, and again unchanged', async () => {
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

    // For real: the CRDs, the ServiceAccounts and RBAC as they are (the data plane's Role is in knative-serving).
    const crds = await apply(['-f', CRDS_DIR]);
    expect(crds.code, output(crds)).toBe(0);
    const waited = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crdFiles.map((f) => `crd/${f.replace(/\.yaml$/, '')}`)]);
    expect(waited.code, output(waited)).toBe(0);
    const rbacFiles = ['-f', join(MANIFESTS, '200-serviceaccount.yaml'), '-f', join(MANIFESTS, '201-rbac.yaml'), '-f', join(MANIFESTS, '202-rbac-dataplane.yaml')];
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
      'serviceaccount/wisp-activator': 'unchanged',
      'serviceaccount/wisp-broker': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp': 'unchanged',
      'clusterrolebinding.rbac.authorization.k8s.io/wisp': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp-source-impersonator': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp-sinkbinding-jobs': 'unchanged',
      'role.rbac.authorization.k8s.io/wisp-leader-election': 'unchanged',
      'rolebinding.rbac.authorization.k8s.io/wisp-leader-election': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp-activator': 'unchanged',
      'clusterrolebinding.rbac.authorization.k8s.io/wisp-activator': 'unchanged',
      'role.rbac.authorization.k8s.io/wisp-activator-config': 'unchanged',
      'rolebinding.rbac.authorization.k8s.io/wisp-activator-config': 'unchanged',
      'clusterrole.rbac.authorization.k8s.io/wisp-broker': 'unchanged',
      'clusterrolebinding.rbac.authorization.k8s.io/wisp-broker': 'unchanged',
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

  for (const plane of [
    { sa: ACTIVATOR_SA, what: 'the activator', checks: activatorChecks },
    { sa: BROKER_SA, what: 'the broker', checks: brokerChecks },
  ]) {
    describe(`${plane.what}'s ServiceAccount only reads what it serves, and writes nothing (kubectl auth can-i --as ${plane.sa})`, () => {
      const { allowed, denied } = plane.checks();

      it('yes to each get, list and watch it uses', async () => {
        const answers = await canIAll(allowed, plane.sa);
        expect(answers.filter((a) => a.answer !== 'yes').map((a) => `${a.what}: ${a.answer}`)).toEqual([]);
      });

      it('no to every write (the resources it reads, statuses, scale, Leases, exec, tokens), to Secrets and to what it does not read', async () => {
        const answers = await canIAll(denied, plane.sa);
        expect(answers.filter((a) => a.answer !== 'no').map((a) => `${a.what}: ${a.answer}`)).toEqual([]);
      });

      it('kubectl auth can-i --list shows no grant beyond those (cluster-wide, in wisp-system and in knative-serving), other than what every authenticated user gets', async () => {
        const nobody = `system:serviceaccount:${ns}:default`;
        const everywhere = grants(allowed.filter((c) => c.ns === undefined));
        expect(await listedGrants('default', plane.sa, nobody)).toEqual(everywhere);
        expect(await listedGrants(ns, plane.sa, nobody)).toEqual(everywhere);
        expect(await listedGrants('wisp-system', plane.sa, nobody)).toEqual(everywhere);
        expect(await listedGrants('knative-serving', plane.sa, nobody)).toEqual(grants(allowed.filter((c) => c.ns === undefined || c.ns === 'knative-serving')));
      });
    });
  }

  it('wisp up --runtime kubernetes --leader-elect with the ServiceAccount token (not admin): it leads; a plain ksvc READY True and answering through the activator; a Broker + Trigger Ready and delivering to a ksvc; no request forbidden', async () => {
    const sa = await serviceAccountKubeconfig(kubectl, { namespace: 'wisp-system', serviceAccount: 'wisp', dir: dir!, durationSeconds: 3600 });
    const whoami = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig: sa.kubeconfigPath });
    expect(whoami.stdout.trim(), output(whoami)).toBe(SA);
    // Not admin: the token cannot read Secrets.
    const secrets = await kubectl(['get', 'secrets', '-A'], { kubeconfig: sa.kubeconfigPath });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toMatch(/forbidden/i);

    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
    // As 500-controller.yaml runs it, but with the default --component all (every role in this one process):
    // leader-elected on the Lease wisp-system/wisp-controller (only this file uses that one).
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
      brokerTriggerYaml({ namespace: ns, trigger: 'hello-trigger', type: 'dev.knative.samples.helloworld', subscriber: 'event-display' }),
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

const WRITES = ['create', 'update', 'patch', 'delete'];

/** What no data-plane ServiceAccount may do: any write, the controller's and the user's objects alike, and Secrets. */
function dataPlaneDenied(): Check[] {
  return [
    { verb: '*', resource: '*' },
    ...verbs(WRITES, [
      'deployments.apps',
      'pods',
      'services',
      'configmaps',
      'endpointslices.discovery.k8s.io',
      'services.serving.knative.dev',
      'configurations.serving.knative.dev',
      'revisions.serving.knative.dev',
      'routes.serving.knative.dev',
      'brokers.eventing.knative.dev',
      'triggers.eventing.knative.dev',
      'pingsources.sources.knative.dev',
      'events',
    ]),
    // ConfigMaps are not written where they are read either.
    ...verbs(WRITES, ['configmaps']).map((c) => ({ ...c, ns: 'knative-serving' })),
    // Status is the controller's, and so is scaling.
    ...verbs(['update', 'patch'], [
      'services.serving.knative.dev',
      'configurations.serving.knative.dev',
      'revisions.serving.knative.dev',
      'routes.serving.knative.dev',
      'brokers.eventing.knative.dev',
      'triggers.eventing.knative.dev',
    ], 'status'),
    { verb: 'update', resource: 'revisions.serving.knative.dev', sub: 'finalizers' },
    ...verbs(['get', 'update', 'patch'], ['deployments.apps'], 'scale'),
    // No leader election: the Lease is the controller's.
    { verb: 'create', resource: 'leases.coordination.k8s.io', ns: 'wisp-system' },
    ...verbs(['get', 'update', 'delete'], ['leases.coordination.k8s.io/wisp-controller']).map((c) => ({ ...c, ns: 'wisp-system' })),
    { verb: 'list', resource: 'leases.coordination.k8s.io' },
    // No Secrets, no way around RBAC.
    { verb: 'get', resource: 'secrets' },
    { verb: 'list', resource: 'secrets' },
    { verb: 'watch', resource: 'secrets' },
    { verb: 'get', resource: 'secrets', ns: 'wisp-system' },
    { verb: 'create', resource: 'pods', sub: 'exec' },
    { verb: 'get', resource: 'pods', sub: 'log' },
    { verb: 'create', resource: 'serviceaccounts', sub: 'token' },
    { verb: 'impersonate', resource: 'serviceaccounts' },
    { verb: 'create', resource: 'clusterrolebindings.rbac.authorization.k8s.io' },
    { verb: 'bind', resource: 'clusterroles.rbac.authorization.k8s.io' },
    { verb: 'get', resource: 'nodes' },
    { verb: 'list', resource: 'namespaces' },
    { verb: 'list', resource: 'jobs.batch' },
    { verb: 'list', resource: 'sinkbindings.sources.knative.dev' },
  ];
}

/**
 * The activator (wisp-system/wisp-activator): Routes and Revisions; its Revisions' Pods, EndpointSlices and
 * Deployments (every namespace); config-domain's ConfigMaps in knative-serving only.
 */
function activatorChecks(): { allowed: Check[]; denied: Check[] } {
  const reads = ['get', 'list', 'watch'];
  return {
    allowed: [
      ...verbs(reads, ['routes.serving.knative.dev', 'revisions.serving.knative.dev', 'pods', 'endpointslices.discovery.k8s.io', 'deployments.apps']),
      ...verbs(reads, ['configmaps']).map((c) => ({ ...c, ns: 'knative-serving' })),
    ],
    denied: [
      ...dataPlaneDenied(),
      // ConfigMaps outside knative-serving.
      ...verbs(reads, ['configmaps']),
      ...verbs(reads, ['configmaps']).map((c) => ({ ...c, ns: 'default' })),
      ...verbs(reads, ['configmaps']).map((c) => ({ ...c, ns: 'wisp-system' })),
      // What the broker or the controller read, not the activator.
      ...verbs(['get', 'list'], ['services.serving.knative.dev', 'configurations.serving.knative.dev', 'brokers.eventing.knative.dev', 'triggers.eventing.knative.dev', 'services']),
    ],
  };
}

/**
 * The broker (wisp-system/wisp-broker): Brokers and Triggers, ksvcs (their addresses), ConfigMaps (a Broker's
 * spec.config, any namespace), v1 Services and EndpointSlices (subscribers), in every namespace.
 */
function brokerChecks(): { allowed: Check[]; denied: Check[] } {
  const reads = ['get', 'list', 'watch'];
  return {
    allowed: verbs(reads, [
      'brokers.eventing.knative.dev',
      'triggers.eventing.knative.dev',
      'services.serving.knative.dev',
      'configmaps',
      'services',
      'endpointslices.discovery.k8s.io',
    ]),
    denied: [
      ...dataPlaneDenied(),
      // What the activator or the controller read, not the broker.
      ...verbs(['get', 'list'], ['pods', 'deployments.apps', 'revisions.serving.knative.dev', 'routes.serving.knative.dev', 'configurations.serving.knative.dev', 'pingsources.sources.knative.dev']),
    ],
  };
}

const describeCheck = (c: Check): string => `${c.verb} ${c.resource}${c.sub ? ` --subresource=${c.sub}` : ''} ${c.ns ? `-n ${c.ns}` : '-A'}`;

async function canI(c: Check, as = SA): Promise<{ what: string; answer: string }> {
  const args = ['auth', 'can-i', c.verb, c.resource, ...(c.sub ? [`--subresource=${c.sub}`] : []), ...(c.ns ? ['-n', c.ns] : ['-A']), `--as=${as}`];
  const r = await kubectl(args);
  // kubectl answers "no" with a warning for a resource the server does not know: a typo here must not pass as "no".
  if (/doesn't have a resource type/.test(r.stderr)) return { what: describeCheck(c), answer: `unknown resource (${r.stderr.trim()})` };
  const answer = r.stdout.trim().split('\n')[0] ?? '';
  if ((answer === 'yes' && r.code !== 0) || (answer === 'no' && r.code !== 1)) return { what: describeCheck(c), answer: `exit ${r.code}: ${output(r).trim()}` };
  return { what: describeCheck(c), answer: answer || output(r).trim() };
}

/** can-i for every check as `as` (default the wisp ServiceAccount), four at a time. */
async function canIAll(checks: readonly Check[], as = SA): Promise<{ what: string; answer: string }[]> {
  const out: { what: string; answer: string }[] = [];
  for (let i = 0; i < checks.length; i += 4) out.push(...(await Promise.all(checks.slice(i, i + 4).map((c) => canI(c, as)))));
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

/** Whether a matchLabels selector picks an object with these labels. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

interface DeploymentManifest {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    replicas: number;
    strategy: { type: string; rollingUpdate?: unknown };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: { runAsNonRoot?: boolean };
        volumes: { name: string; emptyDir?: unknown }[];
        containers: {
          image: string;
          args: string[];
          env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
          ports: { name: string; containerPort: number }[];
          securityContext: Record<string, unknown>;
          resources: { requests?: unknown; limits?: unknown };
          startupProbe: { httpGet: unknown };
          readinessProbe: { httpGet: unknown };
          livenessProbe: { httpGet: unknown };
          volumeMounts: { name: string; mountPath: string }[];
        }[];
      };
    };
  };
}

interface ServiceManifest {
  metadata: { name: string; namespace: string };
  spec: { type: string; selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
}

interface NetworkPolicyManifest {
  metadata: { name: string; namespace: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes: string[];
    ingress: { from?: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }[]; ports?: { port: number; protocol?: string }[] }[];
  };
}
