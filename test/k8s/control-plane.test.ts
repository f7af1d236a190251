/**
 * The real Kubernetes control plane of the tests (test infrastructure, not part of Wisp): the shared cluster of the
 * `k8s` project answers as Kubernetes v1.37.2, its kube-controller-manager runs the Deployment, ReplicaSet and
 * garbage-collector controllers (no kubelet and no scheduler here: Pods stay Pending), and a control plane of the
 * test's own survives a SIGKILL of kube-apiserver and its restart on the same port, certificates and etcd data.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBERNETES_VERSION, kubectl, startControlPlane, type ControlPlane, type KubectlResult } from '../support/k8s/index.js';
import { runKubectl } from '../support/k8s/kubectl.js';
import { OWNER_FILE, reapOrphanedControlPlanes } from '../support/k8s/process.js';
import { waitFor } from '../support/wait.js';
import { isAlive } from '../../src/runtime/local/proc.js';

interface ObjectMeta {
  name: string;
  uid: string;
  ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }>;
}
interface Item {
  metadata: ObjectMeta;
  status?: { phase?: string };
  spec?: { nodeName?: string };
  data?: Record<string, string>;
}

function ok(r: KubectlResult, what: string): string {
  if (r.code !== 0) throw new Error(`kubectl ${what} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

async function items(kind: string, namespace: string): Promise<Item[]> {
  const out = ok(await kubectl(['get', kind, '-n', namespace, '-o', 'json']), `get ${kind}`);
  return (JSON.parse(out) as { items: Item[] }).items;
}

describe('the shared control plane', () => {
  const ns = `cp-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    ok(await kubectl(['create', 'namespace', ns]), 'create namespace');
  });
  afterAll(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it(`answers kubectl version with ${KUBERNETES_VERSION} (client and server) and /readyz with ok`, async () => {
    const v = JSON.parse(ok(await kubectl(['version', '-o', 'json']), 'version')) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string; major: string; minor: string };
    };
    expect(v.clientVersion.gitVersion).toBe(KUBERNETES_VERSION);
    expect(v.serverVersion.gitVersion).toBe(KUBERNETES_VERSION);
    expect(`${v.serverVersion.major}.${v.serverVersion.minor}`).toBe('1.37');
    expect(ok(await kubectl(['get', '--raw', '/readyz']), 'get --raw /readyz').trim()).toBe('ok');
  });

  it('runs the controllers: a Deployment gets a ReplicaSet and a Pending Pod; deleting it garbage-collects both', async () => {
    const manifest = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'hello' } },
        template: {
          metadata: { labels: { app: 'hello' } },
          spec: { containers: [{ name: 'hello', image: 'example.com/wisp/hello:none' }] },
        },
      },
    };
    ok(await kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) }), 'apply Deployment');
    const deploy = JSON.parse(ok(await kubectl(['get', 'deployment', 'hello', '-n', ns, '-o', 'json']), 'get deployment')) as Item;

    const rs = await waitFor(
      async () => (await items('replicasets', ns)).find((r) => r.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.uid === deploy.metadata.uid && o.controller)),
      { timeoutMs: 60_000, intervalMs: 250, what: 'a ReplicaSet owned by the Deployment' },
    );
    const pod = await waitFor(
      async () => (await items('pods', ns)).find((p) => p.metadata.ownerReferences?.some((o) => o.kind === 'ReplicaSet' && o.uid === rs.metadata.uid && o.controller)),
      { timeoutMs: 60_000, intervalMs: 250, what: 'a Pod owned by the ReplicaSet' },
    );
    // No scheduler and no kubelet for this namespace: the Pod is never bound and never runs.
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.spec?.nodeName ?? '').toBe('');

    ok(await kubectl(['delete', 'deployment', 'hello', '-n', ns, '--wait=true', '--timeout=60s']), 'delete deployment');
    await waitFor(async () => (await items('replicasets', ns)).length === 0, { timeoutMs: 60_000, intervalMs: 250, what: 'the ReplicaSet garbage-collected' });
    await waitFor(async () => (await items('pods', ns)).length === 0, { timeoutMs: 60_000, intervalMs: 250, what: 'the Pod garbage-collected' });
  });
});

describe('a control plane of its own', () => {
  let cp: ControlPlane;
  const lines: string[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ log: (l) => lines.push(l) });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('survives kill -9 of kube-apiserver: restarted on the same port, the same kubeconfig works and the data is still there', async () => {
    ok(await cp.kubectl(['create', 'configmap', 'survivor', '-n', 'default', '--from-literal=answer=42']), 'create configmap');
    const before = JSON.parse(ok(await cp.kubectl(['get', 'configmap', 'survivor', '-n', 'default', '-o', 'json']), 'get configmap')) as Item;
    const pids = cp.pids();
    const apiPid = pids['kube-apiserver'];
    expect(apiPid).toBeTypeOf('number');

    await cp.killApiServer();
    expect(isAlive(apiPid as number)).toBe(false);
    expect(cp.pids()['kube-apiserver']).toBeUndefined();
    expect(cp.pids()['etcd']).toBe(pids['etcd']);
    const down = await cp.kubectl(['get', '--raw', '/readyz', '--request-timeout=2s'], { timeoutMs: 10_000 });
    expect(down.code).not.toBe(0);

    await cp.startApiServer();
    const newPid = cp.pids()['kube-apiserver'];
    expect(newPid).toBeTypeOf('number');
    expect(newPid).not.toBe(apiPid);
    // The very kubeconfig file (same server URL, CA and token) that was written before the crash.
    const again = await runKubectl(cp.binaries.kubectl, cp.kubeconfigPath, ['get', 'configmap', 'survivor', '-n', 'default', '-o', 'json']);
    const after = JSON.parse(ok(again, 'get configmap after the restart')) as Item;
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.data).toEqual({ answer: '42' });

    // restartApiServer() does both in one, and the controller-manager carries on against the new API server.
    await cp.restartApiServer();
    ok(await cp.kubectl(['create', 'namespace', 'after-restart']), 'create namespace after restart');
    await waitFor(async () => (await cp.kubectl(['get', 'serviceaccount', 'default', '-n', 'after-restart'])).code === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: "the controller-manager's default ServiceAccount in a namespace made after the restart",
    });
  });

  it('stop() ends every process it started and removes its temp dir', async () => {
    const pids = Object.values(cp.pids());
    expect(pids).toHaveLength(3);
    await cp.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(cp.pids()).toEqual({});
    expect(existsSync(cp.dir)).toBe(false);
    await cp.stop(); // idempotent
    expect(lines.some((l) => /control plane ready in/.test(l))).toBe(true);
  });
});

describe('control planes whose owner died', () => {
  it('are reaped: their processes killed, their directory removed (a kept one only loses its owner file)', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'wisp-reap-test-'));
    try {
      const deadPid = spawnSync('true').pid as number; // exited and reaped: a pid nobody owns now
      const orphan = join(parent, 'wisp-k8s-orphan');
      const kept = join(parent, 'wisp-k8s-kept');
      const live = join(parent, 'wisp-k8s-live');
      for (const d of [orphan, kept, live]) await mkdir(d);
      await writeFile(join(orphan, OWNER_FILE), `${deadPid}\n`);
      await writeFile(join(kept, OWNER_FILE), `${deadPid}\nkeep\n`);
      await writeFile(join(live, OWNER_FILE), `${process.pid}\n`);
      // Stand-ins for etcd & co.: their command lines point into the directories, like --data-dir=<dir>/etcd.
      const standIn = (d: string) => spawn('sh', ['-c', 'sleep 300', join(d, 'etcd')], { detached: true, stdio: 'ignore' });
      const [a, b, c] = [standIn(orphan), standIn(kept), standIn(live)];
      await new Promise((r) => setTimeout(r, 200));
      const reaped = await reapOrphanedControlPlanes(parent, 'wisp-k8s-', () => {});
      expect(reaped.sort()).toEqual([kept, orphan].sort());
      await waitFor(() => !isAlive(a.pid as number) && !isAlive(b.pid as number), { timeoutMs: 5_000, what: 'the orphans killed' });
      expect(isAlive(c.pid as number)).toBe(true);
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(kept)).toBe(true);
      expect(existsSync(join(kept, OWNER_FILE))).toBe(false);
      expect(existsSync(join(live, OWNER_FILE))).toBe(true);
      process.kill(c.pid as number, 'SIGKILL');
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
