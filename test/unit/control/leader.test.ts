/**
 * Leader election's decisions (lease.ts, pure) and the elector's loop on a ManualClock. The loop runs against a small
 * in-memory stand-in for the Lease endpoints (resourceVersion checks as the API server makes them), so deadlines and
 * retries can be driven in milliseconds; test/k8s/leader.test.ts runs the same elector on a real API server.
 */
import { describe, expect, it } from 'vitest';
import { LeaderElector, type ElectionEnd } from '../../../src/control/kube/leader.js';
import {
  decide,
  expiresAt,
  initialSpec,
  LEADER_ELECTION_DEFAULTS,
  leaseObject,
  leaseTimingsProblem,
  microTime,
  observe,
  parseLease,
  releasedSpec,
  scaledTimings,
  type ObservedLease,
} from '../../../src/control/kube/lease.js';
import { ManualClock } from '../../support/clock.js';
import { LeaseEndpoints } from '../../support/lease-endpoints.js';

const T0 = Date.UTC(2026, 0, 1);
const self = { identity: 'me', leaseDurationMs: 15_000, retryPeriodMs: 2_000 };

function obs(spec: Partial<ObservedLease['spec']>, observedAt = T0, resourceVersion = '1'): ObservedLease {
  const full = { holderIdentity: '', leaseDurationSeconds: 15, leaseTransitions: 0, ...spec };
  return { spec: full, resourceVersion, observedAt, object: { metadata: { resourceVersion } } };
}

describe('lease decisions (pure)', () => {
  it('a Lease held by another is waited for until its duration has passed since it was last seen to change', () => {
    const o = obs({ holderIdentity: 'other', leaseTransitions: 3 });
    expect(decide(o, self, T0 + 1_000)).toEqual({ kind: 'held', holder: 'other', retryAt: T0 + 3_000 });
    // Near the expiry the next read is at the expiry itself, not a retry period later.
    expect(decide(o, self, T0 + 14_000)).toEqual({ kind: 'held', holder: 'other', retryAt: T0 + 15_000 });
    const taken = decide(o, self, T0 + 15_000);
    expect(taken).toEqual({
      kind: 'take',
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: microTime(T0 + 15_000), renewTime: microTime(T0 + 15_000), leaseTransitions: 4 },
    });
  });

  it("the holder's own leaseDurationSeconds counts, on this process's clock (not the renewTime it wrote)", () => {
    // renewTime far in the past (a skewed clock elsewhere) does not make it expired: only not changing does.
    const o = obs({ holderIdentity: 'other', leaseDurationSeconds: 40, renewTime: microTime(T0 - 3_600_000) });
    expect(expiresAt(o, 15_000)).toBe(T0 + 40_000);
    expect(decide(o, self, T0 + 39_999).kind).toBe('held');
    expect(decide(o, self, T0 + 40_000).kind).toBe('take');
  });

  it('observedAt moves only when the resourceVersion changes', () => {
    const first = observe(undefined, parseLease({ metadata: { resourceVersion: '5' }, spec: { holderIdentity: 'other' } }), T0);
    const same = observe(first, parseLease({ metadata: { resourceVersion: '5' }, spec: { holderIdentity: 'other' } }), T0 + 9_000);
    expect(same.observedAt).toBe(T0);
    const renewed = observe(same, parseLease({ metadata: { resourceVersion: '6' }, spec: { holderIdentity: 'other' } }), T0 + 10_000);
    expect(renewed.observedAt).toBe(T0 + 10_000);
  });

  it('a Lease nobody holds (released) is taken at once; one we hold is renewed keeping acquireTime and transitions', () => {
    const free = obs({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });
    expect(decide(free, self, T0)).toMatchObject({ kind: 'take', spec: { holderIdentity: 'me', leaseTransitions: 3 } });
    const mine = obs({ holderIdentity: 'me', acquireTime: microTime(T0 - 60_000), leaseTransitions: 7 });
    expect(decide(mine, self, T0 + 30_000)).toEqual({
      kind: 'renew',
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: microTime(T0 - 60_000), renewTime: microTime(T0 + 30_000), leaseTransitions: 7 },
    });
  });

  it('a release clears the holder, for one second, and keeps the transition count', () => {
    expect(releasedSpec({ holderIdentity: 'me', leaseDurationSeconds: 15, leaseTransitions: 4 }, T0)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: microTime(T0),
      renewTime: microTime(T0),
      leaseTransitions: 4,
    });
    expect(initialSpec(self, T0)).toMatchObject({ holderIdentity: 'me', leaseTransitions: 0 });
  });

  it('MicroTime has six fractional digits; a replace names the resourceVersion read and keeps labels and other spec fields', () => {
    expect(microTime(T0 + 123)).toBe('2026-01-01T00:00:00.123000Z');
    const read = parseLease({
      metadata: { name: 'l', namespace: 'ns', resourceVersion: '42', labels: { a: 'b' } },
      spec: { holderIdentity: 'x', renewTime: 'old', strategy: 'OldestEmulationVersion' },
    });
    const o = leaseObject({ namespace: 'ns', name: 'l' }, releasedSpec(read.spec, T0), read);
    expect(o.metadata).toEqual({ name: 'l', namespace: 'ns', resourceVersion: '42', labels: { a: 'b' } });
    expect(o.spec).toMatchObject({ holderIdentity: '', strategy: 'OldestEmulationVersion', renewTime: microTime(T0) });
    expect(leaseObject({ namespace: 'ns', name: 'l' }, initialSpec(self, T0)).metadata).toEqual({ name: 'l', namespace: 'ns' });
  });

  it("timings follow client-go's rules; a lease duration alone scales the others 15 : 10 : 2", () => {
    expect(leaseTimingsProblem(LEADER_ELECTION_DEFAULTS)).toBeUndefined();
    expect(leaseTimingsProblem({ leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 })).toBeUndefined();
    expect(leaseTimingsProblem({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toMatch(/greater than the renew deadline/);
    expect(leaseTimingsProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toMatch(/1.2 × the retry period/);
    expect(leaseTimingsProblem({ leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 })).toMatch(/whole number of seconds/);
    expect(scaledTimings(4_000)).toEqual({ leaseDurationMs: 4_000, renewDeadlineMs: 2_667, retryPeriodMs: 533 });
    expect(leaseTimingsProblem(scaledTimings(1_000))).toBeUndefined();
  });
});

function elector(api: LeaseEndpoints, clock: ManualClock, identity: string, events: string[] = []) {
  return new LeaderElector({
    client: api,
    clock,
    identity,
    onStartedLeading: () => events.push(`${identity} started`),
    onStoppedLeading: (end: ElectionEnd) => events.push(`${identity} stopped ${end.state}`),
  });
}

describe('LeaderElector (ManualClock)', () => {
  it('creates a missing Lease and leads; the other waits as a standby and renewals keep it there', async () => {
    const clock = new ManualClock(T0);
    const api = new LeaseEndpoints();
    const events: string[] = [];
    const a = elector(api, clock, 'a', events);
    a.start();
    await clock.advanceAsync(10);
    expect(a.state).toBe('leading');
    expect(api.holder()).toBe('a');
    const b = elector(api, clock, 'b', events);
    b.start();
    await clock.advanceAsync(60_000, 100);
    expect([a.state, b.state]).toEqual(['leading', 'standby']);
    expect(b.leader).toBe('a');
    expect(events).toEqual(['a started']);
    // Renewed every retry period: 60 s / 2 s.
    expect(api.writes).toBeGreaterThanOrEqual(30);
    a.stop();
    b.stop();
  });

  it('a holder that stops renewing (killed) is taken over leaseDuration after the standby last saw it renew', async () => {
    const clock = new ManualClock(T0);
    const api = new LeaseEndpoints();
    const a = elector(api, clock, 'a');
    const b = elector(api, clock, 'b');
    a.start();
    await clock.advanceAsync(10);
    b.start();
    await clock.advanceAsync(5_000, 10);
    a.stop(); // no release: as if killed
    const killedAt = clock.now();
    await waitState(clock, b, 'leading', 30_000);
    const took = clock.now() - killedAt;
    expect(took).toBeLessThanOrEqual(15_000 + 2_000);
    expect(took).toBeGreaterThanOrEqual(15_000 - 2_000);
    expect(api.holder()).toBe('b');
    expect((api.leases.get('wisp-system/wisp-controller')!.spec as { leaseTransitions: number }).leaseTransitions).toBe(1);
    b.stop();
  });

  it('release() clears the holder and the standby takes over at its next read', async () => {
    const clock = new ManualClock(T0);
    const api = new LeaseEndpoints();
    const events: string[] = [];
    const a = elector(api, clock, 'a', events);
    const b = elector(api, clock, 'b', events);
    a.start();
    await clock.advanceAsync(10);
    b.start();
    await clock.advanceAsync(3_000, 10);
    const released = a.release();
    await clock.advanceAsync(10);
    await released;
    expect(a.state).toBe('released');
    expect(api.holder()).toBe('');
    const at = clock.now();
    await waitState(clock, b, 'leading', 5_000);
    expect(clock.now() - at).toBeLessThanOrEqual(2_000);
    expect(events).toEqual(['a started', 'a stopped released', 'b started']);
    b.stop();
  });

  it('a leader that cannot renew within renewDeadline stops leading (lost), and then the standby leads', async () => {
    const clock = new ManualClock(T0);
    const api = new LeaseEndpoints();
    const events: string[] = [];
    const a = elector(api, clock, 'a', events);
    a.start();
    await clock.advanceAsync(10);
    const lastRenewal = clock.now();
    api.down = true;
    const ended = a.whenEnded();
    await waitState(clock, a, 'lost', 20_000);
    // Lost at the renew deadline (10 s) after the last renewal that went through, not at the lease duration.
    expect(clock.now() - lastRenewal).toBeLessThanOrEqual(10_000);
    expect(clock.now() - lastRenewal).toBeGreaterThan(10_000 - 2_000);
    await expect(ended).resolves.toMatchObject({ state: 'lost', error: { code: 'WISP_ERR_LEADERSHIP_LOST' } });
    expect(events).toEqual(['a started', 'a stopped lost']);
    api.down = false;
    const b = elector(api, clock, 'b', events);
    b.start();
    await waitState(clock, b, 'leading', 20_000);
    b.stop();
  });

  it('a leader whose write is refused with 409 reads again and stops leading when another holds it', async () => {
    const clock = new ManualClock(T0);
    const api = new LeaseEndpoints();
    const a = elector(api, clock, 'a');
    a.start();
    await clock.advanceAsync(10);
    // Someone else writes the Lease (a forced takeover).
    const cur = api.leases.get('wisp-system/wisp-controller') as { spec: Record<string, unknown>; metadata: { resourceVersion: string } };
    await api.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/wisp-system/leases/wisp-controller', { ...cur, spec: { ...cur.spec, holderIdentity: 'intruder' } });
    await waitState(clock, a, 'lost', 5_000);
    expect((await a.whenEnded()).error?.message).toMatch(/held by intruder/);
  });

  it('many candidates started together: exactly one leads at any time, through create races and 409s', async () => {
    const clock = new ManualClock(T0);
    const api = new LeaseEndpoints();
    const all = ['a', 'b', 'c', 'd'].map((id) => elector(api, clock, id));
    for (const e of all) e.start();
    for (let i = 0; i < 400; i++) {
      await clock.advanceAsync(100, 50);
      expect(all.filter((e) => e.isLeader).length).toBeLessThanOrEqual(1);
      if (i === 100) all.find((e) => e.isLeader)?.stop();
      if (i === 250) await all.find((e) => e.isLeader)?.release();
    }
    expect(all.filter((e) => e.isLeader)).toHaveLength(1);
    for (const e of all) e.stop();
  });

  it('a missing namespace is said clearly and ends the election (failed), without retrying', async () => {
    const clock = new ManualClock(T0);
    const api = new LeaseEndpoints();
    const e = new LeaderElector({ client: api, clock, namespace: 'nowhere', identity: 'a' });
    e.start();
    const leading = e.whenLeading();
    await clock.advanceAsync(10);
    await expect(leading).rejects.toMatchObject({ code: 'WISP_ERR_LEASE_NAMESPACE_MISSING', message: expect.stringMatching(/namespace "nowhere" .* does not exist .*kubectl create namespace nowhere/) });
    expect(e.state).toBe('failed');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('refuses timings client-go refuses, and invalid transitions', () => {
    const clock = new ManualClock(T0);
    expect(() => new LeaderElector({ client: new LeaseEndpoints(), clock, leaseDurationMs: 5_000, renewDeadlineMs: 6_000 })).toThrow(/greater than the renew deadline/);
    const e = new LeaderElector({ client: new LeaseEndpoints(), clock });
    expect(e.identity).toMatch(/^.+_[0-9a-f-]{36}$/);
    e.start();
    expect(() => e.start()).toThrow(/cannot go from standby to standby/);
    e.stop();
  });
});

async function waitState(clock: ManualClock, e: LeaderElector, state: string, maxMs: number): Promise<void> {
  for (let t = 0; t < maxMs && e.state !== state; t += 10) await clock.advanceAsync(10, 10);
  expect(e.state).toBe(state);
}
