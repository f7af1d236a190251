/**
 * The test kubelet (test infrastructure, not part of Wisp) against a real kube-apiserver + kube-controller-manager:
 * Deployments' Pods run as processes with their own IPs, the real EndpointSlice controller sees their readiness,
 * crash loops and image errors read as on a real node, and scale-down ends the processes and their networks.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubelet, type Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import { getUrl } from '../support/http.js';
import { isAlive } from '../../src/runtime/local/proc.js';

const NODE = process.execPath;
/** An HTTP server on $HOST (loopback mode) or all addresses (netns), port 8080, answering who it is. */
const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/healthz-bad') { res.statusCode = 503; return res.end('no'); }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pod: process.env.POD_NAME, podIP: process.env.MY_POD_IP, greeting: process.env.GREETING }));
}).listen(8080, process.env.HOST || '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
`;

function isReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function netnsList(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean);
  } catch {
    return [];
  }
}

const KUBECONFIG = process.env.WISP_TEST_KUBECONFIG ?? '';

describe.skipIf(!KUBECONFIG)('test kubelet on a real API server', () => {
  const ns = `kubelet-${randomUUID().slice(0, 8)}`;
  let kubelet: Kubelet;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let discovery: DiscoveryV1Api;
  const lines: string[] = [];

  beforeAll(async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    discovery = kc.makeApiClient(DiscoveryV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    // The namespace's default ServiceAccount must exist before Pods are admitted.
    await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }), { timeoutMs: 30_000, what: 'default service account' });
    kubelet = await startKubelet({
      kubeconfigPath: KUBECONFIG,
      nodeName: `wisp-test-node-${ns}`,
      namespaces: [ns],
      backoff: { initialMs: 200, maxMs: 2_000 },
      probeMaxPeriodMs: 200,
      images: { 'example.com/wisp/hello': { command: [NODE, '-e', SERVER], env: { GREETING: 'from the images map' } } },
      log: (l) => lines.push(l),
    });
  });

  afterAll(async () => {
    await kubelet?.stop();
    await core?.deleteNamespace({ name: ns }).catch(() => {});
    if (process.env.WISP_TEST_KUBELET_LOG) console.log(lines.join('\n'));
  });

  it('registers a Ready node with a lease', async () => {
    const node = await core.readNode({ name: kubelet.nodeName });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).toBe(kubelet.network.hostIP);
    expect(node.status?.allocatable?.pods).toBe('110');
  });

  it('runs a Deployment of 2 replicas: Running, Ready, own IPs, HTTP on podIP:8080, ready endpoints', async () => {
    const labels = { app: 'hello' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'hello' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 5,
              containers: [
                {
                  name: 'app',
                  image: 'example.com/any',
                  command: [NODE, '-e', SERVER],
                  ports: [{ containerPort: 8080, name: 'http' }],
                  env: [
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'MY_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                    { name: 'GREETING', value: 'hello from $(POD_NAME)' },
                  ],
                  readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'hello' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } } });
    const pods = await waitFor(
      async () => {
        const l = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=hello' });
        const ready = l.items.filter((p) => p.status?.phase === 'Running' && isReady(p));
        return ready.length === 2 ? ready : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: '2 hello pods Running and Ready' },
    );
    const ips = pods.map((p) => p.status?.podIP ?? '');
    expect(new Set(ips).size).toBe(2);
    for (const p of pods) {
      expect(p.spec?.nodeName).toBe(kubelet.nodeName);
      expect(p.status?.hostIP).toBe(kubelet.network.hostIP);
      const cs = p.status?.containerStatuses?.[0];
      expect(cs?.ready).toBe(true);
      expect(cs?.started).toBe(true);
      expect(cs?.state?.running?.startedAt).toBeDefined();
      const r = await getUrl(`http://${p.status?.podIP ?? ''}:8080/`);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ pod: p.metadata?.name, podIP: p.status?.podIP, greeting: `hello from ${p.metadata?.name ?? ''}` });
    }
    const slices = await waitFor(
      async () => {
        const l = await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'kubernetes.io/service-name=hello' });
        const eps = l.items.flatMap((s) => s.endpoints ?? []);
        const ready = eps.filter((e) => e.conditions?.ready === true).flatMap((e) => e.addresses);
        return ready.length === 2 ? ready : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'EndpointSlice with 2 ready endpoints' },
    );
    expect(slices.sort()).toEqual([...ips].sort());
  });

  it('keeps a Pod whose readinessProbe fails Running but not Ready; its endpoint is ready: false', async () => {
    const labels = { app: 'unready' };
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'unready' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } } });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'unready', labels },
        spec: {
          containers: [{ name: 'app', image: 'example.com/wisp/hello', readinessProbe: { httpGet: { path: '/healthz-bad', port: 8080 }, periodSeconds: 1, failureThreshold: 1 } }],
        },
      },
    });
    const ep = await waitFor(
      async () => {
        const l = await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'kubernetes.io/service-name=unready' });
        return l.items.flatMap((s) => s.endpoints ?? [])[0];
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'an endpoint for the unready pod' },
    );
    expect(ep.conditions?.ready).toBe(false);
    const pod = await core.readNamespacedPod({ name: 'unready', namespace: ns });
    expect(pod.status?.phase).toBe('Running');
    expect(isReady(pod)).toBe(false);
    expect(pod.status?.conditions?.find((c) => c.type === 'ContainersReady')?.reason).toBe('ContainersNotReady');
    expect(pod.status?.containerStatuses?.[0]?.ready).toBe(false);
    // It runs (the image came from the images map) and answers; only its probe path fails.
    const r = await waitFor(() => getUrl(`http://${pod.status?.podIP ?? ''}:8080/`), { timeoutMs: 5_000, what: 'unready pod answers' });
    expect(JSON.parse(r.body).greeting).toBe('from the images map');
  });

  it('reports a container that exits 3 as CrashLoopBackOff with lastState exit code 3 and rising restarts', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'crasher' }, spec: { containers: [{ name: 'app', image: 'example.com/any', command: [NODE, '-e', 'process.exit(3)'] }] } },
    });
    const cs = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'crasher', namespace: ns });
        const s = p.status?.containerStatuses?.[0];
        return s && s.restartCount >= 3 && s.state?.waiting?.reason === 'CrashLoopBackOff' ? { s, p } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'CrashLoopBackOff with 3 restarts' },
    );
    expect(cs.s.lastState?.terminated?.exitCode).toBe(3);
    expect(cs.s.lastState?.terminated?.reason).toBe('Error');
    expect(cs.s.state?.waiting?.message).toMatch(/^back-off \d+s restarting failed container=app pod=crasher_/);
    expect(cs.p.status?.phase).toBe('Running');
    expect(isReady(cs.p)).toBe(false);
  });

  it('reports ErrImagePull for an unmapped image without a command; a mapped image runs', async () => {
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'no-image' }, spec: { containers: [{ name: 'app', image: 'example.com/not/mapped:1.0' }] } } });
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'no-image', namespace: ns });
        const reason = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        if (reason) seen.add(reason);
        return seen.has('ErrImagePull') && seen.has('ImagePullBackOff') && p.status?.phase === 'Pending';
      },
      { timeoutMs: 20_000, intervalMs: 30, what: 'ErrImagePull then ImagePullBackOff' },
    );
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'mapped' }, spec: { containers: [{ name: 'app', image: 'example.com/wisp/hello:v1' }] } } });
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'mapped', namespace: ns });
        return isReady(p) ? p : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'mapped image Ready' },
    );
    // No readinessProbe: Ready once running (as the real kubelet), which may be before the server listens.
    const r = await waitFor(() => getUrl(`http://${pod.status?.podIP ?? ''}:8080/`), { timeoutMs: 5_000, what: 'mapped image answers' });
    expect(JSON.parse(r.body).greeting).toBe('from the images map');
  });

  it('runs init containers first; a restartPolicy Never Pod that exits 0 is Succeeded, its output in kubelet.logs()', async () => {
    const marker = `/tmp/wisp-kubelet-test-${ns}-init`;
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'once', labels: { team: 'blue' } },
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: 'init', image: 'example.com/any', command: [NODE, '-e', `require('node:fs').writeFileSync('${marker}', 'init ran')`] }],
          containers: [
            {
              name: 'main',
              image: 'example.com/any',
              command: [NODE, '-e', `console.log(require('node:fs').readFileSync('${marker}', 'utf8'), process.argv.slice(1).join(' '))`],
              args: ['$(WHO)', 'in', '$(TEAM)', '$$(NOT_EXPANDED)', '$(UNDEFINED)'],
              env: [
                { name: 'WHO', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.labels['team']" } } },
              ],
            },
          ],
        },
      },
    });
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'once', namespace: ns });
        return p.status?.phase === 'Succeeded' ? p : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'pod Succeeded' },
    );
    expect(pod.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect((await kubelet.logs(ns, 'once', 'main')).trim()).toBe('init ran once in blue $(NOT_EXPANDED) $(UNDEFINED)');
  });

  it('a restartPolicy Never Pod whose container exits 2 is Failed', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'fails' }, spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'example.com/any', command: [NODE, '-e', 'process.exit(2)'] }] } },
    });
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'fails', namespace: ns });
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'pod Failed' },
    );
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 2, reason: 'Error' } } });
  });

  it('restarts a container whose livenessProbe fails', async () => {
    // Healthy for its first 3 requests, then 500 for ever.
    const flaky = `let n = 0; require('node:http').createServer((q, s) => { s.statusCode = ++n > 3 ? 500 : 200; s.end(); }).listen(8080, process.env.HOST || '0.0.0.0');`;
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'liveness' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'app',
              image: 'example.com/any',
              command: [NODE, '-e', flaky],
              livenessProbe: { httpGet: { path: '/', port: 8080 }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2 },
            },
          ],
        },
      },
    });
    const cs = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'liveness', namespace: ns });
        const s = p.status?.containerStatuses?.[0];
        return s && s.restartCount >= 1 && s.lastState?.terminated ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'liveness restart' },
    );
    // SIGTERM: node's default handler ends the process by the signal, 128 + 15.
    expect(cs.lastState?.terminated?.exitCode).toBe(143);
  });

  it('scaling the Deployment to 0 ends the processes, removes their network and the Pods', async () => {
    const before = kubelet.pods().filter((p) => p.name.startsWith('hello-'));
    expect(before).toHaveLength(2);
    const pids = before.flatMap((p) => p.containers.map((c) => c.pid ?? 0));
    expect(pids.every((p) => p > 0 && isAlive(p))).toBe(true);
    await apps.patchNamespacedDeploymentScale({ name: 'hello', namespace: ns, body: { spec: { replicas: 0 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await waitFor(
      async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=hello' })).items.length === 0,
      { timeoutMs: 30_000, intervalMs: 100, what: 'hello pods deleted' },
    );
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    for (const p of before) {
      await expect(getUrl(`http://${p.podIP ?? ''}:8080/`, 500)).rejects.toThrow();
      if (p.netns) expect(netnsList()).not.toContain(p.netns);
    }
    expect(kubelet.pods().filter((p) => p.name.startsWith('hello-'))).toEqual([]);
  });
});
