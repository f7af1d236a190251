/**
 * The decisions of leader election over a `coordination.k8s.io/v1` Lease, as client-go's `tools/leaderelection`
 * makes them, without I/O or a clock: every function takes `now` and returns a value. The elector (leader.ts) does
 * the reads and writes and keeps the timers.
 *
 * Time is judged only on this process's own clock: a Lease is expired when `leaseDurationSeconds` have passed since
 * this process last *saw it change* (a new resourceVersion), never by comparing the `renewTime` written by another
 * machine with ours. So clock skew between replicas does not matter, only the rate at which their clocks run.
 */

/** Defaults of leader election, as Kubernetes' own components (kube-controller-manager, Knative) have them. */
export const LEADER_ELECTION_DEFAULTS = Object.freeze({
  namespace: 'wisp-system',
  name: 'wisp-controller',
  /** How long a standby waits, without seeing the Lease change, before it takes the Lease over. */
  leaseDurationMs: 15_000,
  /** How long the leader keeps trying to renew before it gives up leading. */
  renewDeadlineMs: 10_000,
  /** Between tries: the leader's renewals and a standby's reads. */
  retryPeriodMs: 2_000,
});

/** client-go's JitterFactor: renewDeadline must leave room for more than one retry. */
const RETRY_FACTOR = 1.2;

export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/**
 * What is wrong with a set of timings, or undefined. The rules of client-go's NewLeaderElector, plus whole seconds for
 * the lease duration (the Lease stores `leaseDurationSeconds` as an integer, and other replicas read it from there).
 */
export function leaseTimingsProblem(t: LeaseTimings): string | undefined {
  if (!Number.isInteger(t.leaseDurationMs / 1000) || t.leaseDurationMs < 1000) return `the lease duration must be a whole number of seconds, at least 1 (got ${t.leaseDurationMs} ms)`;
  if (!(t.renewDeadlineMs > 0)) return `the renew deadline must be greater than zero (got ${t.renewDeadlineMs} ms)`;
  if (!(t.retryPeriodMs > 0)) return `the retry period must be greater than zero (got ${t.retryPeriodMs} ms)`;
  if (t.leaseDurationMs <= t.renewDeadlineMs) return `the lease duration (${t.leaseDurationMs} ms) must be greater than the renew deadline (${t.renewDeadlineMs} ms)`;
  if (t.renewDeadlineMs <= RETRY_FACTOR * t.retryPeriodMs) {
    return `the renew deadline (${t.renewDeadlineMs} ms) must be greater than ${RETRY_FACTOR} × the retry period (${t.retryPeriodMs} ms)`;
  }
  return undefined;
}

/**
 * Timings from a lease duration alone: the renew deadline and retry period keep the defaults' ratio (15 : 10 : 2),
 * so `leaseDurationMs: 4000` gives a deadline of 2667 ms and a retry period of 533 ms.
 */
export function scaledTimings(leaseDurationMs: number): LeaseTimings {
  const d = LEADER_ELECTION_DEFAULTS;
  return {
    leaseDurationMs,
    renewDeadlineMs: Math.round((leaseDurationMs * d.renewDeadlineMs) / d.leaseDurationMs),
    retryPeriodMs: Math.round((leaseDurationMs * d.retryPeriodMs) / d.leaseDurationMs),
  };
}

/** The spec of a Lease as leader election writes it (`holderIdentity` '' = nobody holds it). */
export interface LeaseSpec {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

/** A Lease as read from the API server: its spec, the resourceVersion a write must name, and the object as read. */
export interface LeaseState {
  spec: LeaseSpec;
  resourceVersion: string;
  /** The object as the API server answered it: a replace keeps its labels, annotations and other spec fields. */
  object: Record<string, unknown>;
}

/** A Lease and when this process saw it change last (its own clock). */
export interface ObservedLease extends LeaseState {
  observedAt: number;
}

/** The Kubernetes object of a Lease (what the API server answers and what a write sends). */
export interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec: Partial<LeaseSpec> & Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the parts leader election uses from a Lease object (missing fields read as Kubernetes leaves them: empty). */
export function parseLease(obj: unknown): LeaseState {
  if (!isRecord(obj) || !isRecord(obj.metadata)) throw new TypeError('not a Lease object: no metadata');
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const int = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
  const acquireTime = str(spec.acquireTime);
  const renewTime = str(spec.renewTime);
  return {
    spec: {
      holderIdentity: str(spec.holderIdentity) ?? '',
      leaseDurationSeconds: int(spec.leaseDurationSeconds),
      ...(acquireTime !== undefined && { acquireTime }),
      ...(renewTime !== undefined && { renewTime }),
      leaseTransitions: int(spec.leaseTransitions),
    },
    resourceVersion: str(obj.metadata.resourceVersion) ?? '',
    object: obj,
  };
}

/** A new reading of the Lease: `observedAt` moves only when the Lease changed (another resourceVersion). */
export function observe(prev: ObservedLease | undefined, lease: LeaseState, now: number): ObservedLease {
  if (prev !== undefined && prev.resourceVersion === lease.resourceVersion) return { ...lease, observedAt: prev.observedAt };
  return { ...lease, observedAt: now };
}

/** When a standby may take the Lease over: its holder's duration after this process last saw it change. */
export function expiresAt(obs: ObservedLease, ownLeaseDurationMs: number): number {
  // A Lease without a duration (written by hand) counts with this process's own.
  const seconds = obs.spec.leaseDurationSeconds > 0 ? obs.spec.leaseDurationSeconds : ownLeaseDurationMs / 1000;
  return obs.observedAt + seconds * 1000;
}

/** The Lease's MicroTime format: RFC 3339 with exactly six fractional digits (the API server parses no other). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface Candidate {
  identity: string;
  leaseDurationMs: number;
  retryPeriodMs: number;
}

export type LeaseDecision =
  /** Someone else holds it and it has not expired: read again at `retryAt` (the next retry, or the expiry if sooner). */
  | { kind: 'held'; holder: string; retryAt: number }
  /** Nobody holds it, or its holder's time ran out: write it with this candidate as the holder (a transition). */
  | { kind: 'take'; spec: LeaseSpec }
  /** This candidate holds it: write a new renewTime. */
  | { kind: 'renew'; spec: LeaseSpec };

/** What a candidate does with the Lease as last observed (client-go's tryAcquireOrRenew, its decision half). */
export function decide(obs: ObservedLease, self: Candidate, now: number): LeaseDecision {
  const held = obs.spec.holderIdentity;
  const seconds = self.leaseDurationMs / 1000;
  if (held === self.identity) {
    return { kind: 'renew', spec: { ...obs.spec, leaseDurationSeconds: seconds, renewTime: microTime(now) } };
  }
  const expiry = expiresAt(obs, self.leaseDurationMs);
  if (held !== '' && now < expiry) {
    return { kind: 'held', holder: held, retryAt: Math.min(now + self.retryPeriodMs, expiry) };
  }
  return {
    kind: 'take',
    spec: { holderIdentity: self.identity, leaseDurationSeconds: seconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: obs.spec.leaseTransitions + 1 },
  };
}

/** The spec of a Lease created by its first holder. */
export function initialSpec(self: Pick<Candidate, 'identity' | 'leaseDurationMs'>, now: number): LeaseSpec {
  return { holderIdentity: self.identity, leaseDurationSeconds: self.leaseDurationMs / 1000, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
}

/**
 * The spec a leader writes when it steps down (client-go's ReleaseOnCancel): nobody holds it, for one second, so a
 * standby takes it at its next read instead of waiting the lease duration out. The transition count stays: the next
 * holder counts its own.
 */
export function releasedSpec(current: LeaseSpec, now: number): LeaseSpec {
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: current.leaseTransitions };
}

/**
 * The Lease object to create, or to replace the one `read` (the replace names the resourceVersion it read, so a write
 * in between is refused with 409: optimistic concurrency; labels, annotations and other spec fields are kept).
 */
export function leaseObject(ref: { namespace: string; name: string }, spec: LeaseSpec, read?: LeaseState): LeaseObject {
  const metadata = read !== undefined && isRecord(read.object.metadata) ? read.object.metadata : {};
  const otherSpec = read !== undefined && isRecord(read.object.spec) ? read.object.spec : {};
  // Times this spec does not carry are dropped, not kept from the read (a released Lease has no holder's times).
  const { acquireTime: _a, renewTime: _r, ...kept } = otherSpec;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...metadata, name: ref.name, namespace: ref.namespace, ...(read !== undefined && { resourceVersion: read.resourceVersion }) },
    spec: { ...kept, ...spec },
  };
}
