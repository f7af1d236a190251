/**
 * LeaderElector: leader election through a `coordination.k8s.io/v1` Lease, as client-go's `tools/leaderelection`
 * does it. The decisions are lease.ts's (pure); this is the loop around them: reads and writes on the API server, and
 * the timers, on an injected Clock.
 *
 * - A standby reads the Lease every retryPeriod (creating it when it is missing) and takes it over when nobody holds
 *   it, or when it has not changed for its holder's leaseDurationSeconds, as seen on this process's own clock.
 * - The leader renews every retryPeriod. Every write is a PUT naming the resourceVersion it read: a 409 means someone
 *   else wrote in between, and the Lease is read again (two candidates racing for it: one write wins, the other sees
 *   the winner's Lease). A leader that sees another holder stops leading at once.
 * - A leader that has not renewed within renewDeadline of its last successful renewal stops leading (lost). The others
 *   take over no sooner than leaseDuration after they last saw it renew, so the leader has leaseDuration −
 *   renewDeadline to stop acting.
 * - release() (graceful stop) clears holderIdentity, so a standby takes over at its next read.
 *
 * It is a state machine: new → standby → leading → lost | released | stopped; standby → stopped | failed. No jitter
 * on the retry period (client-go adds up to 1.2×): with a handful of replicas it only delays the takeover.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, Timer } from '../../clock.js';
import { WispError } from '../../errors.js';
import { KubeApiError, type KubeClient } from './client.js';
import {
  decide,
  initialSpec,
  LEADER_ELECTION_DEFAULTS,
  leaseObject,
  leaseTimingsProblem,
  observe,
  parseLease,
  releasedSpec,
  type LeaseSpec,
  type LeaseTimings,
  type ObservedLease,
} from './lease.js';

export const LEADER_ELECTION_ERROR_CODES = Object.freeze({
  WISP_ERR_LEASE_NAMESPACE_MISSING: "the Lease's namespace does not exist",
  WISP_ERR_LEASE_FORBIDDEN: 'the credentials may not read, create or update the Lease',
  WISP_ERR_LEADERSHIP_LOST: 'the leader could not renew the Lease within the renew deadline, or another took it',
  WISP_ERR_LEADER_ELECTION_STOPPED: 'the elector was stopped before it led',
});

export type LeaderElectionErrorCode = keyof typeof LEADER_ELECTION_ERROR_CODES;

export class LeaderElectionError extends WispError<LeaderElectionErrorCode> {
  readonly code: LeaderElectionErrorCode;
  readonly statusCode: number;
  readonly retriable: boolean;

  constructor(code: LeaderElectionErrorCode, message: string, opts: { cause?: unknown; statusCode?: number; retriable?: boolean } = {}) {
    super(message, opts.cause === undefined ? {} : { cause: opts.cause });
    this.code = code;
    this.statusCode = opts.statusCode ?? 503;
    this.retriable = opts.retriable ?? false;
  }
}

/** The one call of KubeClient the elector needs. */
export type LeaseApiClient = Pick<KubeClient, 'request'>;

export type ElectorState = 'new' | 'standby' | 'leading' | 'lost' | 'released' | 'stopped' | 'failed';

const TRANSITIONS: Record<ElectorState, readonly ElectorState[]> = {
  new: ['standby', 'stopped'],
  standby: ['leading', 'stopped', 'failed'],
  leading: ['lost', 'released', 'stopped'],
  lost: [],
  released: [],
  stopped: [],
  failed: [],
};

/** How leading (or waiting to) ended. */
export interface ElectionEnd {
  state: 'lost' | 'released' | 'stopped' | 'failed';
  error?: LeaderElectionError;
}

export interface LeaderElectorOptions extends Partial<LeaseTimings> {
  client: LeaseApiClient;
  clock: Clock;
  /** Default `wisp-system`. */
  namespace?: string;
  /** Default `wisp-controller`. */
  name?: string;
  /** Default `<hostname>_<random UUID>`, unique per process. */
  identity?: string;
  onStartedLeading?: () => void;
  /** Once, when this elector stops leading: lost, released or stopped. */
  onStoppedLeading?: (end: ElectionEnd) => void;
  /** Whenever the holder this elector sees changes (its own identity included; '' when nobody holds it). */
  onNewLeader?: (identity: string) => void;
  /** A read or write that failed and is retried. */
  onError?: (err: unknown) => void;
}

/** `<hostname>_<random>`, as client-go's users build their identities. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

const LEASES = '/apis/coordination.k8s.io/v1/namespaces';

export class LeaderElector {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly timings: Readonly<LeaseTimings>;
  readonly #o: LeaderElectorOptions;
  readonly #clock: Clock;

  #state: ElectorState = 'new';
  #observed: ObservedLease | undefined;
  #reportedLeader: string | undefined;
  #timer: Timer | undefined;
  #deadline: Timer | undefined;
  #inflight: Promise<void> | undefined;
  #released: Promise<void> | undefined;
  readonly #leading: Promise<void>;
  #resolveLeading!: () => void;
  #rejectLeading!: (err: LeaderElectionError) => void;
  readonly #ended: Promise<ElectionEnd>;
  #resolveEnded!: (end: ElectionEnd) => void;

  constructor(opts: LeaderElectorOptions) {
    this.#o = opts;
    this.#clock = opts.clock;
    this.namespace = opts.namespace ?? LEADER_ELECTION_DEFAULTS.namespace;
    this.name = opts.name ?? LEADER_ELECTION_DEFAULTS.name;
    this.identity = opts.identity ?? defaultIdentity();
    this.timings = Object.freeze({
      leaseDurationMs: opts.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs,
    });
    const problem = leaseTimingsProblem(this.timings);
    if (problem !== undefined) throw new RangeError(`leader election: ${problem}`);
    this.#leading = new Promise<void>((resolve, reject) => {
      this.#resolveLeading = resolve;
      this.#rejectLeading = reject;
    });
    this.#leading.catch(() => undefined);
    this.#ended = new Promise<ElectionEnd>((resolve) => (this.#resolveEnded = resolve));
  }

  /** `<namespace>/<name>` of the Lease. */
  get lease(): string {
    return `${this.namespace}/${this.name}`;
  }

  get state(): ElectorState {
    return this.#state;
  }

  get isLeader(): boolean {
    return this.#state === 'leading';
  }

  /** The holder as last seen ('' nobody, undefined not read yet). */
  get leader(): string | undefined {
    return this.#observed?.spec.holderIdentity;
  }

  /** The Lease as last read or written by this elector. */
  get observed(): Readonly<LeaseSpec> | undefined {
    return this.#observed?.spec;
  }

  /** Starts waiting for the Lease (reads it now). */
  start(): void {
    this.#transition('standby');
    this.#schedule(0);
  }

  /** Resolves when this elector leads; rejects when it will not (a namespace that is missing, stopped first). */
  whenLeading(): Promise<void> {
    return this.#leading;
  }

  /** Resolves once, when this elector is done: lost, released, stopped or failed. */
  whenEnded(): Promise<ElectionEnd> {
    return this.#ended;
  }

  /**
   * Graceful stop. Leading: no more renewals, then the Lease is written with no holder (naming the resourceVersion
   * this elector wrote last; a 409 means another already took it, which is fine). Call it only once the work the Lease
   * guards has stopped. Standby: stops reading. Bounded by renewDeadline; a release that fails leaves the Lease to
   * expire by itself.
   */
  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  /** Stops without releasing: as far as the Lease is concerned, this process died (the others wait it out). */
  stop(): void {
    if (this.#state === 'new' || this.#state === 'standby' || this.#state === 'leading') this.#end('stopped');
  }

  async #release(): Promise<void> {
    if (this.#state !== 'leading') {
      this.stop();
      return;
    }
    this.#end('released');
    let timer: Timer | undefined;
    const deadline = new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, this.timings.renewDeadlineMs)));
    const write = async (): Promise<void> => {
      // A renewal on the wire answers with the resourceVersion the release must name.
      await this.#inflight?.catch(() => undefined);
      const obs = this.#observed;
      if (obs === undefined || obs.spec.holderIdentity !== this.identity) return;
      try {
        const written = await this.#put(releasedSpec(obs.spec, this.#clock.now()), obs);
        this.#observed = observe(obs, written, this.#clock.now());
      } catch (err) {
        if (!(err instanceof KubeApiError && err.conflict)) this.#o.onError?.(err);
      }
    };
    try {
      await Promise.race([write(), deadline]);
    } finally {
      timer?.cancel();
    }
  }

  #transition(to: ElectorState): void {
    if (!TRANSITIONS[this.#state].includes(to)) throw new Error(`leader election ${this.lease}: cannot go from ${this.#state} to ${to}`);
    this.#state = to;
  }

  #end(state: ElectionEnd['state'], error?: LeaderElectionError): void {
    const wasLeading = this.#state === 'leading';
    this.#transition(state);
    this.#timer?.cancel();
    this.#deadline?.cancel();
    this.#timer = undefined;
    this.#deadline = undefined;
    const end: ElectionEnd = error === undefined ? { state } : { state, error };
    if (!wasLeading) this.#rejectLeading(error ?? new LeaderElectionError('WISP_ERR_LEADER_ELECTION_STOPPED', `leader election ${this.lease}: stopped before leading`));
    this.#resolveEnded(end);
    if (wasLeading) this.#o.onStoppedLeading?.(end);
  }

  #schedule(ms: number): void {
    this.#timer?.cancel();
    this.#timer = this.#clock.setTimeout(() => void this.#tick(), Math.max(0, ms));
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    const state = this.#state;
    if (state !== 'standby' && state !== 'leading') return;
    let next = this.timings.retryPeriodMs;
    const attempt = (state === 'standby' ? this.#tryAcquire() : this.#tryRenew()).then((ms) => void (next = ms));
    this.#inflight = attempt;
    try {
      await attempt;
    } catch (err) {
      this.#o.onError?.(err);
    } finally {
      if (this.#inflight === attempt) this.#inflight = undefined;
    }
    if (this.#state === 'standby' || this.#state === 'leading') this.#schedule(next);
  }

  /** One standby round; answers when to try again. */
  async #tryAcquire(): Promise<number> {
    const { retryPeriodMs } = this.timings;
    const started = this.#clock.now();
    let read;
    try {
      read = await this.#get();
    } catch (err) {
      if (this.#fatal(err, 'read')) return retryPeriodMs;
      throw err;
    }
    if (this.#state !== 'standby') return retryPeriodMs;
    if (read === undefined) {
      try {
        const created = await this.#create(initialSpec({ identity: this.identity, leaseDurationMs: this.timings.leaseDurationMs }, started));
        this.#saw(created);
        this.#becomeLeader(started);
        return retryPeriodMs;
      } catch (err) {
        if (err instanceof KubeApiError && err.alreadyExists) return 0; // another created it first: read theirs now
        if (this.#fatal(err, 'create')) return retryPeriodMs;
        throw err;
      }
    }
    this.#saw(read);
    const now = this.#clock.now();
    const d = decide(this.#observed!, this.#candidate(), now);
    if (d.kind === 'held') return d.retryAt - now;
    try {
      const written = await this.#put(d.spec, this.#observed!);
      this.#saw(written);
      this.#becomeLeader(now);
    } catch (err) {
      if (err instanceof KubeApiError && err.conflict) return 0; // someone else wrote first: read again now
      if (this.#fatal(err, 'update')) return retryPeriodMs;
      throw err;
    }
    return retryPeriodMs;
  }

  /** One leader round: renew from what this elector wrote last; on 409 read the Lease and decide again. */
  async #tryRenew(): Promise<number> {
    const sent = this.#clock.now();
    let obs = this.#observed!;
    for (let tries = 0; tries < 2; tries++) {
      const d = decide(obs, this.#candidate(), sent);
      if (d.kind !== 'renew') {
        this.#lose(`the Lease is now held by ${obs.spec.holderIdentity || 'nobody'}`);
        return 0;
      }
      try {
        const written = await this.#put(d.spec, obs);
        this.#saw(written);
        if (this.#state === 'leading') this.#renewed(sent);
        return this.timings.retryPeriodMs;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.conflict)) throw err;
        const read = await this.#get();
        if (this.#state !== 'leading') return 0;
        if (read === undefined) {
          this.#lose('the Lease was deleted');
          return 0;
        }
        this.#saw(read);
        obs = this.#observed!;
      }
    }
    return this.timings.retryPeriodMs;
  }

  #candidate() {
    return { identity: this.identity, leaseDurationMs: this.timings.leaseDurationMs, retryPeriodMs: this.timings.retryPeriodMs };
  }

  #saw(lease: ReturnType<typeof parseLease>): void {
    this.#observed = observe(this.#observed, lease, this.#clock.now());
    const holder = this.#observed.spec.holderIdentity;
    if (holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      this.#o.onNewLeader?.(holder);
    }
  }

  #becomeLeader(sentAt: number): void {
    if (this.#state !== 'standby') return;
    this.#transition('leading');
    this.#renewed(sentAt);
    this.#resolveLeading();
    this.#o.onStartedLeading?.();
  }

  /** A renewal sent at `sentAt` succeeded: the deadline counts from when it was sent (the others saw it no earlier). */
  #renewed(sentAt: number): void {
    this.#deadline?.cancel();
    const { renewDeadlineMs } = this.timings;
    this.#deadline = this.#clock.setTimeout(
      () => this.#lose(`no renewal succeeded within the renew deadline (${renewDeadlineMs} ms)`),
      sentAt + renewDeadlineMs - this.#clock.now(),
    );
  }

  #lose(why: string): void {
    if (this.#state !== 'leading') return;
    this.#end('lost', new LeaderElectionError('WISP_ERR_LEADERSHIP_LOST', `the lease ${this.lease} is no longer ours: ${why}`, { retriable: true }));
  }

  /** A standby's failure that retrying will not mend: the Lease's namespace is missing, or the credentials may not. */
  #fatal(err: unknown, verb: 'read' | 'create' | 'update'): boolean {
    if (!(err instanceof KubeApiError) || this.#state !== 'standby') return false;
    if (verb === 'create' && err.notFound) {
      this.#end(
        'failed',
        new LeaderElectionError(
          'WISP_ERR_LEASE_NAMESPACE_MISSING',
          `leader election: the namespace "${this.namespace}" of the Lease ${this.lease} does not exist (create it: kubectl create namespace ${this.namespace})`,
          { cause: err, statusCode: 404 },
        ),
      );
      return true;
    }
    if (err.status === 401 || err.status === 403) {
      this.#end(
        'failed',
        new LeaderElectionError(
          'WISP_ERR_LEASE_FORBIDDEN',
          `leader election: may not ${verb} the Lease ${this.lease} (grant get, create and update on leases.coordination.k8s.io in ${this.namespace}): ${err.body?.message ?? err.message}`,
          { cause: err, statusCode: err.status },
        ),
      );
      return true;
    }
    return false;
  }

  async #get(): Promise<ReturnType<typeof parseLease> | undefined> {
    try {
      return parseLease(await this.#o.client.request('GET', `${LEASES}/${encodeURIComponent(this.namespace)}/leases/${encodeURIComponent(this.name)}`));
    } catch (err) {
      if (err instanceof KubeApiError && err.notFound) return undefined;
      throw err;
    }
  }

  async #create(spec: LeaseSpec): Promise<ReturnType<typeof parseLease>> {
    return parseLease(await this.#o.client.request('POST', `${LEASES}/${encodeURIComponent(this.namespace)}/leases`, leaseObject(this, spec)));
  }

  async #put(spec: LeaseSpec, read: ObservedLease): Promise<ReturnType<typeof parseLease>> {
    const path = `${LEASES}/${encodeURIComponent(this.namespace)}/leases/${encodeURIComponent(this.name)}`;
    return parseLease(await this.#o.client.request('PUT', path, leaseObject(this, spec, read)));
  }
}
