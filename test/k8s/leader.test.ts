/**
 * LeaderElector on a real API server (the k8s project's shared control plane): the Lease in a namespace of this file,
 * a Lease name per test, short timings (lease 2 s, renew deadline 1.5 s, retry 0.3 s) on the system clock.
 */
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { KubeClient, loadKubeConfig } from '../../src/control/kube/client.js';
import { LeaderElector } from '../../src/control/kube/leader.js';
import { k8sKubeconfig, kubectl } from '../support/k8s/index.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

const ns = `wisp-lease-${randomUUID().slice(0, 8)}`;
const TIMINGS = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 };
/** What an HTTP round trip to the API server may add to a takeover on this loaded 2-core machine. */
const IO_ALLOWANCE_MS = 700;

let client: KubeClient;
const electors: LeaderElector[] = [];

function elector(name: string, identity: string, opts: { client?: KubeClient; onLeading?: () => void; onStopped?: () => void } = {}): LeaderElector {
  const e = new LeaderElector({
    client: opts.client ?? client,
    clock: systemClock,
    namespace: ns,
    name,
    identity,
    ...TIMINGS,
    ...(opts.onLeading && { onStartedLeading: opts.onLeading }),
    ...(opts.onStopped && { onStoppedLeading: opts.onStopped }),
  });
  electors.push(e);
  return e;
}

async function leaseSpec(name: string): Promise<{ holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number; acquireTime?: string; renewTime?: string }> {
  const r = await kubectl(['get', 'lease', name, '-n', ns, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { spec: Record<string, never> }).spec;
}

/** Samples the electors until `until` holds, failing if two ever lead at the same instant. */
async function neverTwo(all: LeaderElector[], until: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    expect(all.filter((e) => e.isLeader).map((e) => e.identity).length).toBeLessThanOrEqual(1);
    if (until()) return;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LeaderElector on a real API server', () => {
  beforeAll(async () => {
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    client = new KubeClient(loadKubeConfig({ kubeconfig: k8sKubeconfig() }));
  });

  afterEach(async () => {
    for (const e of electors.splice(0)) await e.release();
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('two electors: the Lease is created, exactly one leads, the other stands by seeing it as the holder', async () => {
    const a = elector('both', 'a');
    const b = elector('both', 'b');
    a.start();
    b.start();
    await neverTwo([a, b], () => a.isLeader || b.isLeader, 10_000);
    const [leader, standby] = a.isLeader ? [a, b] : [b, a];
    // Several renewals later, still one, and the standby knows who.
    const until = Date.now() + 3 * TIMINGS.leaseDurationMs;
    await neverTwo([a, b], () => Date.now() > until, 10_000);
    expect(leader.isLeader).toBe(true);
    expect(standby.state).toBe('standby');
    expect(standby.leader).toBe(leader.identity);
    const spec = await leaseSpec('both');
    expect(spec).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('a holder that stops renewing without releasing (killed) is taken over within leaseDuration + retryPeriod', async () => {
    const a = elector('killed', 'a');
    a.start();
    await a.whenLeading();
    const b = elector('killed', 'b');
    b.start();
    await waitFor(() => b.leader === 'a', { what: 'b sees a' });
    await new Promise((r) => setTimeout(r, 1_000)); // b has seen a few renewals
    const acquireBefore = (await leaseSpec('killed')).acquireTime;
    a.stop();
    const killedAt = Date.now();
    await b.whenLeading();
    const took = Date.now() - killedAt;
    console.log(`leader.test: takeover after the holder stopped renewing: ${took} ms (lease ${TIMINGS.leaseDurationMs} ms, retry ${TIMINGS.retryPeriodMs} ms)`);
    expect(took).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + TIMINGS.retryPeriodMs + IO_ALLOWANCE_MS);
    // Not before the holder's time was up: leaseDuration after b last saw a renewal, which was at most a retry ago.
    expect(took).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs - TIMINGS.retryPeriodMs - IO_ALLOWANCE_MS);
    const spec = await leaseSpec('killed');
    expect(spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(spec.acquireTime).not.toBe(acquireBefore);
  });

  it('release() clears holderIdentity and the standby takes over at its next read, without waiting the lease out', async () => {
    const a = elector('released', 'a');
    a.start();
    await a.whenLeading();
    const b = elector('released', 'b');
    b.start();
    await waitFor(() => b.leader === 'a', { what: 'b sees a' });
    const releasedAt = Date.now();
    await a.release();
    expect(a.state).toBe('released');
    await b.whenLeading();
    const took = Date.now() - releasedAt;
    console.log(`leader.test: takeover after release(): ${took} ms`);
    expect(took).toBeLessThan(TIMINGS.retryPeriodMs + IO_ALLOWANCE_MS);
    expect(await leaseSpec('released')).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('candidates racing for one Lease (create and update 409s) never yield two leaders, through kills and releases', async () => {
    const all = ['a', 'b', 'c', 'd', 'e'].map((id) => elector('race', id));
    for (const e of all) e.start();
    let transitions = 0;
    for (let round = 0; round < 4; round++) {
      await neverTwo(all, () => all.some((e) => e.isLeader), 15_000);
      const leader = all.find((e) => e.isLeader)!;
      // Watch it lead a while with the others polling, then take it away: a kill on even rounds, a release on odd.
      const until = Date.now() + 1_000;
      await neverTwo(all, () => Date.now() > until, 5_000);
      if (round % 2 === 0) leader.stop();
      else await leader.release();
      transitions += 1;
    }
    await neverTwo(all, () => all.some((e) => e.isLeader), 15_000);
    // Each takeover counted once: 4 handovers after the first holder.
    expect((await leaseSpec('race')).leaseTransitions).toBe(transitions);
  }, 60_000);

  it('a leader cut off from the API server stops leading at renewDeadline, before the standby takes over', async () => {
    const kc = loadKubeConfig({ kubeconfig: k8sKubeconfig() });
    const server = new URL(kc.getCurrentCluster()!.server);
    const proxy = await startTcpProxy(server);
    try {
      const viaProxy = new KubeConfig();
      viaProxy.loadFromOptions({
        clusters: kc.clusters.map((c) => (c.name === kc.getCurrentCluster()!.name ? { ...c, server: `https://127.0.0.1:${proxy.port}` } : c)),
        users: kc.users,
        contexts: kc.contexts,
        currentContext: kc.getCurrentContext(),
      });
      let lostAt = 0;
      let takenAt = 0;
      const a = elector('cut-off', 'a', { client: new KubeClient(viaProxy), onStopped: () => (lostAt = Date.now()) });
      a.start();
      await a.whenLeading();
      const b = elector('cut-off', 'b', { onLeading: () => (takenAt = Date.now()) });
      b.start();
      await waitFor(() => b.leader === 'a', { what: 'b sees a' });
      await proxy.stop();
      const cutAt = Date.now();
      await b.whenLeading();
      const end = await a.whenEnded();
      expect(end).toMatchObject({ state: 'lost', error: { code: 'WISP_ERR_LEADERSHIP_LOST' } });
      console.log(`leader.test: cut-off leader stopped after ${lostAt - cutAt} ms, the standby led after ${takenAt - cutAt} ms`);
      expect(lostAt).toBeGreaterThan(0);
      expect(lostAt).toBeLessThan(takenAt);
      expect(lostAt - cutAt).toBeLessThanOrEqual(TIMINGS.renewDeadlineMs + 100);
    } finally {
      await proxy.stop();
    }
  });

  it('a Lease namespace that does not exist is said clearly', async () => {
    const e = new LeaderElector({ client, clock: systemClock, namespace: `missing-${randomUUID().slice(0, 8)}`, name: 'x', ...TIMINGS });
    e.start();
    await expect(e.whenLeading()).rejects.toMatchObject({ code: 'WISP_ERR_LEASE_NAMESPACE_MISSING', message: expect.stringMatching(/namespace "missing-.*" of the Lease .* does not exist/) });
  });
});
