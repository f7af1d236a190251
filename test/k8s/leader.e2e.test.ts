/**
 * Leader election end to end: two `wisp up --runtime kubernetes --leader-elect` against one real API server, scoped
 * to this file's namespace, their Lease in a namespace of its own (parallel-safe), a lease of 4 s
 * (WISP_LEADER_LEASE_SECONDS; renew deadline 2.67 s and retry 0.53 s scale with it). Driven with kubectl as a user
 * would; the steps run in order on the same cluster state.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { k8sKubeconfig, kubectl, startTestKubelet } from '../support/k8s/index.js';
import type { Kubelet } from '../support/k8s/kubelet.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { applyYaml, CRDS_DIR, jsonpath, ksvcYaml, TEST_IMAGES, waitKsvcReady } from './helpers.js';

const id = randomUUID().slice(0, 8);
const ns = `wisp-le-${id}`;
const leaseNs = `wisp-le-lease-${id}`;
const LEASE = `${leaseNs}/wisp-controller`;
const LEASE_MS = 4_000;
const RETRY_MS = Math.round((LEASE_MS * 2) / 15);
/** What the API round trips may add to a takeover on this loaded 2-core machine. */
const IO_ALLOWANCE_MS = 1_000;

let kubelet: Kubelet | undefined;
let a: WispProcess | undefined;
let b: WispProcess | undefined;
/** b's start(): resolves when b is ready, which it is only once it leads. */
let bReady: Promise<void> | undefined;

const args = () => ['--runtime', 'kubernetes', '--kubeconfig', k8sKubeconfig(), '--namespace-scope', ns, '--leader-elect', '--leader-elect-namespace', leaseNs];
const newWisp = () => WispProcess.create({ WISP_AUTOSCALER_TICK_MS: '500', WISP_LEADER_LEASE_SECONDS: String(LEASE_MS / 1000) });
const leaderLine = (w: WispProcess): string | undefined => new RegExp(`^leader: acquired the lease ${LEASE} as (\\S+)$`, 'm').exec(w.output)?.[1];

async function names(kind: string): Promise<string[]> {
  const r = await kubectl(['get', kind, '-n', ns, '-o', 'name']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean).sort();
}

async function lease(): Promise<{ holderIdentity?: string; leaseTransitions?: number }> {
  const r = await kubectl(['get', 'lease', 'wisp-controller', '-n', leaseNs, '-o', 'jsonpath={.spec}']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { holderIdentity?: string; leaseTransitions?: number };
}

describe('Kubernetes mode: two wisp up --leader-elect, one acting (e2e, kubectl)', () => {
  beforeAll(async () => {
    const crds = await kubectl(['apply', '-f', CRDS_DIR]);
    expect(crds.code, crds.stderr).toBe(0);
    expect((await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s'])).code).toBe(0);
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    expect((await kubectl(['create', 'namespace', leaseNs])).code).toBe(0);
    kubelet = await startTestKubelet({ namespaces: [ns], images: TEST_IMAGES, probeMaxPeriodMs: 200 });
  }, 180_000);

  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
    await bReady?.catch(() => undefined);
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
    await kubectl(['delete', 'namespace', leaseNs, '--wait=false']);
    await kubelet?.stop({ deleteNode: true });
  }, 60_000);

  it('only one leads: the first takes the Lease and starts; the second is a standby (healthz 200, readyz 503) naming the holder', async () => {
    a = await newWisp();
    await a.start([], { args: args() });
    const aId = leaderLine(a);
    expect(aId).toMatch(/^.+_[0-9a-f-]{36}$/);
    expect(a.output).toContain('Wisp is up.');

    b = await newWisp();
    bReady = b.start([], { args: args() });
    bReady.catch(() => undefined);
    await waitFor(() => b!.output.includes(`standby: waiting for the lease ${LEASE} held by ${aId}`), { timeoutMs: 30_000, what: 'the standby line' });
    const health = await b.fetchAnonymous('/healthz');
    expect([health.status, await health.text()]).toEqual([200, 'ok']);
    const ready = await b.fetchAnonymous('/readyz');
    expect([ready.status, await ready.text()]).toEqual([503, 'standby: not the leader']);
    expect(leaderLine(b)).toBeUndefined();
    expect(b.output).not.toContain('Wisp is up.');
    expect(await lease()).toMatchObject({ holderIdentity: aId, leaseTransitions: 0 });
  });

  it('kubectl apply a ksvc: exactly one Revision hello-00001 and one Deployment, answering through the leader', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'One' }));
    await waitKsvcReady(kubectl, ns, 'hello');
    expect(await names('revisions')).toEqual(['revision.serving.knative.dev/hello-00001']);
    expect(await names('deploy')).toEqual(['deployment.apps/hello-00001-deployment']);
    const res = await httpRequest({ port: a!.ports.ingress, host: `hello.${ns}.localhost`, path: '/', timeoutMs: 30_000 });
    expect([res.status, res.body]).toEqual([200, 'Hello One! (revision hello-00001)\n']);
    // The standby did nothing meanwhile.
    expect(leaderLine(b!)).toBeUndefined();
  });

  it('kill -9 of the leader: the standby takes the Lease within the lease duration (+ one retry) and starts', async () => {
    const uids = {
      rev: await jsonpath(kubectl, ns, 'rev/hello-00001', '{.metadata.uid}'),
      deploy: await jsonpath(kubectl, ns, 'deploy/hello-00001-deployment', '{.metadata.uid}'),
    };
    const aExit = new Promise<void>((r) => a!.child!.once('exit', () => r()));
    process.kill(a!.pid!, 'SIGKILL');
    const killedAt = Date.now();
    await aExit;
    const bId = await waitFor(() => leaderLine(b!), { timeoutMs: LEASE_MS * 3, intervalMs: 10, what: 'b takes the lease' });
    const tookLease = Date.now() - killedAt;
    await bReady;
    const tookReady = Date.now() - killedAt;
    console.log(`leader.e2e: after kill -9 of the leader, the standby held the lease after ${tookLease} ms and was ready after ${tookReady} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`);
    expect(tookLease).toBeLessThanOrEqual(LEASE_MS + RETRY_MS + IO_ALLOWANCE_MS);
    expect(await lease()).toMatchObject({ holderIdentity: bId, leaseTransitions: 1 });
    // The new leader converges on what is there: nothing recreated, the ksvc Ready with its URL on b's activator.
    await waitFor(async () => (await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.url}')) === `http://hello.${ns}.localhost:${b!.ports.ingress}`, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "ksvc URL on b's ingress",
    });
    await waitKsvcReady(kubectl, ns, 'hello');
    expect(await jsonpath(kubectl, ns, 'rev/hello-00001', '{.metadata.uid}')).toBe(uids.rev);
    expect(await jsonpath(kubectl, ns, 'deploy/hello-00001-deployment', '{.metadata.uid}')).toBe(uids.deploy);
    expect(await names('revisions')).toEqual(['revision.serving.knative.dev/hello-00001']);
  });

  it('a change applied after the takeover: hello-00002 created once, no duplicates, Ready, answering through the new leader', async () => {
    await applyYaml(kubectl, ksvcYaml({ name: 'hello', namespace: ns, target: 'Two' }));
    await waitFor(async () => (await jsonpath(kubectl, ns, 'ksvc/hello', '{.status.latestReadyRevisionName}')) === 'hello-00002', {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'hello-00002 ready',
    });
    await waitKsvcReady(kubectl, ns, 'hello');
    expect(await names('revisions')).toEqual(['revision.serving.knative.dev/hello-00001', 'revision.serving.knative.dev/hello-00002']);
    expect(await names('deploy')).toEqual(['deployment.apps/hello-00001-deployment', 'deployment.apps/hello-00002-deployment']);
    expect(await names('configurations')).toEqual(['configuration.serving.knative.dev/hello']);
    expect(await names('routes')).toEqual(['route.serving.knative.dev/hello']);
    const res = await httpRequest({ port: b!.ports.ingress, host: `hello.${ns}.localhost`, path: '/', timeoutMs: 30_000 });
    expect([res.status, res.body]).toEqual([200, 'Hello Two! (revision hello-00002)\n']);
  });

  it('SIGTERM of the leader releases the Lease (exit 0); a new replica takes it at once', async () => {
    const bId = leaderLine(b!);
    expect(await b!.stop('SIGTERM')).toBe(0);
    expect(b!.output).toMatch(new RegExp(`SIGTERM received, stopping and releasing the lease ${LEASE}`));
    expect((await lease()).holderIdentity ?? '').toBe('');
    expect(bId).toBeDefined();

    const startedAt = Date.now();
    a = await newWisp();
    await a.start([], { args: args() });
    console.log(`leader.e2e: a new replica after a release was ready after ${Date.now() - startedAt} ms`);
    expect(a.output).not.toContain('standby: waiting');
    expect(await lease()).toMatchObject({ holderIdentity: leaderLine(a), leaseTransitions: 2 });
    await waitKsvcReady(kubectl, ns, 'hello');
  });

  it('a leader that sees another holder stops the platform and exits 1: leaderelection lost', async () => {
    const exit = new Promise<number | null>((r) => a!.child!.once('exit', (code) => r(code)));
    const patch = await kubectl(['patch', 'lease', 'wisp-controller', '-n', leaseNs, '--type', 'merge', '-p', '{"spec":{"holderIdentity":"someone-else"}}']);
    expect(patch.code, patch.stderr).toBe(0);
    expect(await exit).toBe(1);
    expect(a!.output).toMatch(/wisp up: leaderelection lost: the lease .* is no longer ours: the Lease is now held by someone-else; stopping/);
  });
});
