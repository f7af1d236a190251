/**
 * `wisp up --leader-elect`: flags and env, the standby's answers on the control API port, and what `wisp up` does when
 * it leads, is signalled, or loses the Lease. The elector runs on a ManualClock against the in-memory Lease endpoints;
 * test/k8s/leader.e2e.test.ts runs two real `wisp up` on a real API server.
 */
import { describe, expect, it } from 'vitest';
import { resolveLeaderElection, resolveUpOptions } from '../../../src/cli/config.js';
import { startLeaderElected, STANDBY_NOT_READY, type LeaderElected } from '../../../src/platform/leader.js';
import type { Platform, PlatformOptions } from '../../../src/platform/types.js';
import { LeaderElectionError } from '../../../src/control/kube/leader.js';
import { ManualClock } from '../../support/clock.js';
import { LeaseEndpoints } from '../../support/lease-endpoints.js';
import { freePort, waitFor } from '../../support/wait.js';
import { run } from './run.js';

const K8S = ['--runtime', 'kubernetes'];
const resolve = (flags: Parameters<typeof resolveUpOptions>[0], env: NodeJS.ProcessEnv = {}) => resolveLeaderElection(flags, env, resolveUpOptions(flags, env));

describe('wisp up --leader-elect: flags and env', () => {
  it('refuses --leader-elect (or WISP_LEADER_ELECT=true) without --runtime kubernetes: usage, exit 2', async () => {
    const flag = await run(['up', '--leader-elect']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--leader-elect only applies with --runtime kubernetes/);
    const env = await run(['up'], { env: { WISP_LEADER_ELECT: 'true' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/WISP_LEADER_ELECT=true only applies with --runtime kubernetes/);
    const ns = await run(['up', ...K8S, '--leader-elect-namespace', 'x']);
    expect(ns.code).toBe(2);
    expect(ns.stderr).toMatch(/--leader-elect-namespace only applies with --leader-elect/);
    expect((await run(['up', ...K8S], { env: { WISP_LEADER_ELECT: 'yes' } })).stderr).toMatch(/invalid value 'yes' for WISP_LEADER_ELECT: expected true or false/);
  });

  it('defaults: wisp-system/wisp-controller, 15 s / 10 s / 2 s; flags over env; a lease duration alone scales the rest', () => {
    expect(resolve({ runtime: 'kubernetes' })).toBeUndefined();
    expect(resolve({ runtime: 'kubernetes', leaderElect: true })).toEqual({ namespace: 'wisp-system', name: 'wisp-controller', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    expect(resolve({ runtime: 'kubernetes', leaderElectNamespace: 'flag' }, { WISP_LEADER_ELECT: 'TRUE', WISP_LEADER_ELECT_NAMESPACE: 'env' })).toMatchObject({ namespace: 'flag' });
    expect(resolve({ runtime: 'kubernetes' }, { WISP_LEADER_ELECT: 'true', WISP_LEADER_ELECT_NAMESPACE: 'env', WISP_LEADER_LEASE_SECONDS: '3' })).toEqual({
      namespace: 'env',
      name: 'wisp-controller',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 400,
    });
    expect(
      resolve({ runtime: 'kubernetes', leaderElect: true }, { WISP_LEADER_LEASE_SECONDS: '2', WISP_LEADER_RENEW_DEADLINE_SECONDS: '1.5', WISP_LEADER_RETRY_PERIOD_SECONDS: '0.3' }),
    ).toMatchObject({ leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 });
  });

  it('refuses timings client-go refuses, naming the variables', () => {
    expect(() => resolve({ runtime: 'kubernetes', leaderElect: true }, { WISP_LEADER_LEASE_SECONDS: '1.5' })).toThrow(/WISP_LEADER_LEASE_SECONDS: expected a positive whole number of seconds/);
    expect(() => resolve({ runtime: 'kubernetes', leaderElect: true }, { WISP_LEADER_LEASE_SECONDS: '5', WISP_LEADER_RENEW_DEADLINE_SECONDS: '6' })).toThrow(
      /WISP_LEADER_LEASE_SECONDS, WISP_LEADER_RENEW_DEADLINE_SECONDS.*greater than the renew deadline/,
    );
    expect(() => resolve({ runtime: 'kubernetes', leaderElect: true, leaderElectNamespace: 'Bad_NS' })).toThrow(/--leader-elect-namespace/);
  });
});

function options(apiPort: number): PlatformOptions {
  return { ...resolveUpOptions({ runtime: 'kubernetes' }, {}), apiPort, logLevel: 'silent' };
}

function fakePlatform(onClose: () => Promise<void> = async () => undefined): Platform {
  return { urls: { ingress: 'http://127.0.0.1:1', broker: 'http://127.0.0.1:2', api: 'http://127.0.0.1:3' }, applied: [], tokenFile: '/t/token', runtime: 'kubernetes (test)', close: onClose };
}

const TIMINGS = { namespace: 'wisp-system', name: 'wisp-controller', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe('startLeaderElected: a hot standby until it holds the Lease', () => {
  it('answers /healthz 200 and /readyz 503 as a standby, prints one standby line, and starts the platform only once it leads', async () => {
    const clock = new ManualClock();
    const api = new LeaseEndpoints();
    const port = await freePort();
    const lines: string[] = [];
    let started = 0;
    const holder = await startLeaderElected(options(port), { ...TIMINGS, identity: 'first' }, { startPlatform: async () => (started++, fakePlatform()), print: (l) => lines.push(l), clock, client: api });
    await clock.advanceAsync(10);
    await holder.leading;
    expect(lines).toEqual(['leader: acquired the lease wisp-system/wisp-controller as first']);

    const port2 = await freePort();
    const standby = await startLeaderElected(options(port2), { ...TIMINGS, identity: 'second' }, { startPlatform: async () => (started++, fakePlatform()), print: (l) => lines.push(l), clock, client: api });
    await clock.advanceAsync(6_000, 100);
    expect(lines).toEqual(['leader: acquired the lease wisp-system/wisp-controller as first', 'standby: waiting for the lease wisp-system/wisp-controller held by first']);
    const health = await fetch(`http://127.0.0.1:${port2}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok']);
    const ready = await fetch(`http://127.0.0.1:${port2}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, STANDBY_NOT_READY]);
    const other = await fetch(`http://127.0.0.1:${port2}/apis/serving.knative.dev/v1/namespaces/default/services`);
    expect(other.status).toBe(503);
    expect(((await other.json()) as { message: string }).message).toMatch(/the leader is first/);
    expect(started).toBe(1);

    // The holder stops gracefully: it releases, and the standby leads at its next read, its standby port closed first.
    await holder.close();
    await clock.advanceAsync(2_100, 50);
    await standby.leading;
    expect(started).toBe(2);
    expect(lines.at(-1)).toBe('leader: acquired the lease wisp-system/wisp-controller as second');
    await expect(fetch(`http://127.0.0.1:${port2}/healthz`)).rejects.toThrow();
    await standby.close();
    expect(api.holder()).toBe('');
  });

  it('a platform that fails to start hands the Lease over at once', async () => {
    const clock = new ManualClock();
    const api = new LeaseEndpoints();
    const run = await startLeaderElected(options(await freePort()), { ...TIMINGS, identity: 'x' }, {
      startPlatform: async () => {
        throw new Error('port 8080 is in use');
      },
      print: () => undefined,
      clock,
      client: api,
    });
    await clock.advanceAsync(10);
    await expect(run.leading).rejects.toThrow(/in use/);
    expect(api.holder()).toBe('');
    await run.close();
  });
});

/** A LeaderElected the test drives by hand. */
function scripted(timings = TIMINGS) {
  let lead!: (p: Platform) => void;
  let lose!: (e: LeaderElectionError) => void;
  const calls: string[] = [];
  let abandonHangs = false;
  const handle: LeaderElected = {
    identity: 'me',
    lease: 'wisp-system/wisp-controller',
    timings,
    leading: new Promise<Platform>((r) => (lead = r)),
    lost: new Promise<LeaderElectionError>((r) => (lose = r)),
    close: async () => void calls.push('close'),
    abandon: () => (calls.push('abandon'), abandonHangs ? new Promise<void>(() => undefined) : Promise.resolve()),
  };
  return {
    handle,
    calls,
    lead: (p: Platform) => lead(p),
    lose: () => lose(new LeaderElectionError('WISP_ERR_LEADERSHIP_LOST', 'the lease wisp-system/wisp-controller is no longer ours: no renewal succeeded')),
    hangAbandon: () => (abandonHangs = true),
  };
}

function signals() {
  const handlers = new Set<(sig: string) => void>();
  return {
    onSignal: (h: (sig: string) => void) => (handlers.add(h), () => handlers.delete(h)),
    send: (sig: string) => [...handlers].forEach((h) => h(sig)),
  };
}

describe('wisp up --leader-elect: leading, signals, a lost Lease', () => {
  const argv = ['up', ...K8S, '--leader-elect'];

  it('leads: the banner; SIGTERM closes (platform, then the Lease released) with exit 0', async () => {
    const s = scripted();
    const sig = signals();
    let stdout = '';
    const done = run(argv, { onStdout: (t) => (stdout = t), deps: { up: { onSignal: sig.onSignal, startLeaderElected: async () => s.handle, startPlatform: async () => fakePlatform() } } });
    s.lead(fakePlatform());
    await waitFor(() => stdout.includes('Wisp is up.'), { what: 'banner' });
    sig.send('SIGTERM');
    const res = await done;
    expect(res.code).toBe(0);
    expect(s.calls).toEqual(['close']);
    expect(res.stderr).toMatch(/SIGTERM received, stopping and releasing the lease wisp-system\/wisp-controller/);
  });

  it('a signal while a standby stops with exit 0, never starting the platform', async () => {
    const s = scripted();
    const sig = signals();
    const done = run(argv, { deps: { up: { onSignal: sig.onSignal, startLeaderElected: async () => s.handle } } });
    await waitFor(() => s.calls.length === 0);
    sig.send('SIGINT');
    const res = await done;
    expect(res.code).toBe(0);
    expect(s.calls).toEqual(['close']);
    expect(res.stdout).not.toContain('Wisp is up.');
  });

  it('a Lease namespace that does not exist: one line naming it and the flag, exit 1', async () => {
    const api = new LeaseEndpoints();
    api.namespaces.clear();
    const res = await run([...argv, '--api-port', String(await freePort())], {
      env: { WISP_LOG_LEVEL: 'silent' },
      deps: {
        up: {
          onSignal: signals().onSignal,
          startLeaderElected: (o, le, d) => startLeaderElected(o, le, { ...d, client: api }),
          startPlatform: async () => fakePlatform(),
        },
      },
    });
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      'wisp up: leader election: the namespace "wisp-system" of the Lease wisp-system/wisp-controller does not exist (create it: kubectl create namespace wisp-system), or choose another with --leader-elect-namespace',
    );
  });

  it('a lost Lease stops the platform and exits 1 with "leaderelection lost"', async () => {
    const s = scripted();
    let stdout = '';
    const done = run(argv, { onStdout: (t) => (stdout = t), deps: { up: { onSignal: signals().onSignal, startLeaderElected: async () => s.handle } } });
    s.lead(fakePlatform());
    await waitFor(() => stdout.includes('Wisp is up.'));
    s.lose();
    const res = await done;
    expect(res.code).toBe(1);
    expect(s.calls).toEqual(['abandon']);
    expect(res.stderr).toMatch(/wisp up: leaderelection lost: the lease wisp-system\/wisp-controller is no longer ours/);
  });

  it('a stop that hangs after the loss is cut short at leaseDuration − renewDeadline: forced exit 1', async () => {
    const s = scripted();
    s.hangAbandon();
    const clock = new ManualClock();
    const forced: number[] = [];
    const done = run(argv, { deps: { up: { onSignal: signals().onSignal, startLeaderElected: async () => s.handle, clock, forceExit: (c) => void forced.push(c) } } });
    s.lead(fakePlatform());
    s.lose();
    await waitFor(() => s.calls.includes('abandon'));
    await clock.advanceAsync(4_999, 100);
    expect(forced).toEqual([]);
    await clock.advanceAsync(1);
    expect(forced).toEqual([1]);
    void done;
  });
});
