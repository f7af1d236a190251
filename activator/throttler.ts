import type { Clock } from '../src/clock.js';
import type { RevisionFailure } from '../src/runtime/types.js';
import { ReplicaTracker } from './breaker.js';
import { BufferedRequest, type DispatchWork } from './buffered-request.js';
import {
  QueueFullError,
  QueueTimeoutError,
  RequestAbortedError,
  RevisionFailedError,
  RevisionRemovedError,
  ShuttingDownError,
  type ActivatorError,
} from './errors.js';
import { pickerFor, type ReplicaPicker } from './lb-policy.js';
import type { RevisionState } from './types.js';
import type { ReplicaEndpoint } from '../src/runtime/types.js';

/**
 * A request handed to the throttler by callback (the activator's hot path: no promise, no AbortSignal).
 * Exactly one of `start` / `reject` is called, at most once.
 */
export interface ThrottledRequest {
  /** A slot on `lease.endpoint` is held: proxy, then call `Throttler.release(lease)` exactly once. */
  start(lease: Lease, remainingMs: number, coldStartMs: number): void;
  /** The request was never dispatched (queue full, timeout, failure, removal, shutdown, cancel). */
  reject(err: ActivatorError): void;
}

/** A held replica slot; give it back with `Throttler.release`. */
export class Lease {
  released = false;
  constructor(
    readonly rev: RevisionEntry,
    readonly tracker: ReplicaTracker,
    /** Set when the request waited in the queue (its state machine moves to done/rejected on release). */
    readonly queued: QueuedRequest | undefined,
  ) {}

  get endpoint(): ReplicaEndpoint {
    return this.tracker.endpoint;
  }
}

const noWork: DispatchWork<void> = () => Promise.resolve();
const noop = (): void => {};

/** A queued callback request: the BufferedRequest state machine plus the request to start or reject. */
export class QueuedRequest extends BufferedRequest<void> {
  constructor(
    readonly target: ThrottledRequest,
    enqueuedAt: number,
    coldStart: boolean,
    signal: AbortSignal | undefined,
  ) {
    super(noWork, noop, noop, enqueuedAt, coldStart, signal);
  }
}

export const DEFAULT_QUEUE_DEPTH = 10_000;
export const DEFAULT_TIMEOUT_SECONDS = 300;

export interface ThrottlerOptions {
  /** Drives queue timeouts only. */
  clock: Clock;
  /** Requests that may wait per revision; overflow rejects with QueueFullError. Default 10 000. */
  queueDepth?: number;
  /** Random source for power-of-two-choices. Default Math.random. */
  random?: () => number;
  /** Called once when the first request arrives for a revision with no ready replica (until one appears). */
  onColdStart?: (key: string) => void;
}

export interface RevisionEntry {
  key: string;
  cc: number;
  timeoutMs: number;
  trackers: ReplicaTracker[];
  picker: ReplicaPicker;
  failure: RevisionFailure | undefined;
  queue: (QueuedRequest | undefined)[];
  head: number;
  /** Requests in state `queued`. */
  waiting: number;
  /** Requests dispatched and not finished. */
  inFlight: number;
  coldPending: boolean;
}

/**
 * Per-revision queue plus per-replica breakers, as Knative's `pkg/activator/net/throttler.go`. Knows
 * nothing of HTTP: `run` hands the caller's work a replica once one has a free slot.
 */
export class Throttler {
  readonly #clock: Clock;
  readonly #depth: number;
  readonly #random: () => number;
  readonly #onColdStart: (key: string) => void;
  readonly #revs = new Map<string, RevisionEntry>();
  #closed = false;

  constructor(opts: ThrottlerOptions) {
    this.#clock = opts.clock;
    this.#depth = opts.queueDepth ?? DEFAULT_QUEUE_DEPTH;
    this.#random = opts.random ?? Math.random;
    this.#onColdStart = opts.onColdStart ?? (() => {});
  }

  /**
   * Runs `work` against a replica of `key` as soon as one has capacity. Rejects with QueueFullError,
   * QueueTimeoutError, RevisionFailedError, RevisionRemovedError or RequestAbortedError; otherwise settles
   * as `work` does. The replica's slot is held until `work` settles.
   */
  run<T>(key: string, signal: AbortSignal | undefined, work: DispatchWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.submit(
        key,
        {
          start: (lease, remainingMs, coldMs) => {
            let p: Promise<T>;
            try {
              p = work(lease.endpoint, remainingMs, coldMs);
            } catch (err) {
              p = Promise.reject(err);
            }
            p.then(
              (v) => {
                this.release(lease, false);
                resolve(v);
              },
              (err: unknown) => {
                this.release(lease, true);
                reject(err);
              },
            );
          },
          reject,
        },
        signal,
      );
    });
  }

  /**
   * Callback form of `run`: `req.start` runs (synchronously when a replica has a free slot and nothing
   * waits) with a held slot, or `req.reject` once it cannot be. Returns the queue entry when the request
   * waits (pass it to `cancel` when the client goes away), undefined otherwise.
   */
  submit(key: string, req: ThrottledRequest, signal?: AbortSignal): QueuedRequest | undefined {
    if (this.#closed) return void req.reject(new ShuttingDownError());
    const rev = this.#revs.get(key) ?? this.#create(key);
    if (rev.failure !== undefined) return void req.reject(failedError(rev));
    if (signal?.aborted) return void req.reject(new RequestAbortedError(key));
    if (rev.waiting === 0) {
      const t = rev.picker.pick(rev.trackers);
      if (t !== undefined) return void this.#dispatch(rev, t, req, undefined, rev.timeoutMs, -1);
    }
    if (rev.waiting >= this.#depth) return void req.reject(new QueueFullError(key, this.#depth));
    const cold = rev.trackers.length === 0;
    if (cold && !rev.coldPending) {
      rev.coldPending = true;
      this.#onColdStart(key);
    }
    const br = new QueuedRequest(req, this.#clock.now(), cold, signal);
    rev.queue.push(br);
    rev.waiting++;
    br.timer = this.#clock.setTimeout(() => this.#expire(rev, br), rev.timeoutMs);
    if (signal !== undefined) {
      br.onAbort = () => this.#abandon(rev, br, new RequestAbortedError(key));
      signal.addEventListener('abort', br.onAbort, { once: true });
    }
    return br;
  }

  /** The client of a waiting request went away: it rejects with RequestAbortedError (no-op once dispatched). */
  cancel(key: string, queued: QueuedRequest): void {
    const rev = this.#revs.get(key);
    if (rev !== undefined) this.#abandon(rev, queued, new RequestAbortedError(key));
    else if (queued.state === 'queued') {
      queued.transition('rejected');
      this.#detach(queued);
      queued.target.reject(new RequestAbortedError(key));
    }
  }

  /** Gives a slot back (once); `failed` marks a queued request's state machine rejected instead of done. */
  release(lease: Lease, failed = false): void {
    if (lease.released) return;
    lease.released = true;
    lease.queued?.transition(failed ? 'rejected' : 'done');
    lease.tracker.breaker.release();
    const rev = lease.rev;
    rev.inFlight--;
    if (rev.waiting > 0) this.#drain(rev);
  }

  /** New endpoints, settings or failure for a revision; dispatches waiting requests to new capacity. */
  upsert(state: RevisionState): void {
    const rev = this.#revs.get(state.key) ?? this.#create(state.key);
    const cc = state.containerConcurrency > 0 ? Math.floor(state.containerConcurrency) : 0;
    if (cc !== rev.cc) {
      rev.cc = cc;
      rev.picker = pickerFor(cc, this.#random);
      for (const t of rev.trackers) t.breaker.setCapacity(cc);
    }
    rev.timeoutMs = timeoutMsOf(state.timeoutSeconds);
    const old = new Map<string, ReplicaTracker>();
    for (const t of rev.trackers) old.set(endpointId(t.endpoint), t);
    const next: ReplicaTracker[] = [];
    for (const ep of state.endpoints) {
      const id = endpointId(ep);
      const kept = old.get(id);
      if (kept !== undefined) old.delete(id);
      next.push(kept ?? new ReplicaTracker(ep, cc));
    }
    for (const gone of old.values()) gone.live = false;
    rev.trackers = next;
    rev.failure = state.failure === undefined ? undefined : { ...state.failure };
    if (rev.failure !== undefined) {
      this.#rejectQueued(rev, () => failedError(rev));
      return;
    }
    if (next.length > 0) {
      rev.coldPending = false;
      this.#drain(rev);
    }
  }

  /** Forgets a revision; its waiting requests reject with RevisionRemovedError. In-flight ones finish. */
  remove(key: string): void {
    const rev = this.#revs.get(key);
    if (rev === undefined) return;
    this.#revs.delete(key);
    this.#rejectQueued(rev, () => new RevisionRemovedError(key));
  }

  /** Rejects every waiting request and every new one with ShuttingDownError. */
  close(): void {
    this.#closed = true;
    for (const rev of this.#revs.values()) this.#rejectQueued(rev, () => new ShuttingDownError());
  }

  queued(key: string): number {
    return this.#revs.get(key)?.waiting ?? 0;
  }

  inFlight(key: string): number {
    return this.#revs.get(key)?.inFlight ?? 0;
  }

  readyReplicas(key: string): number {
    return this.#revs.get(key)?.trackers.length ?? 0;
  }

  /** In-flight count per replica id of a revision (for tests and debugging). */
  replicaLoad(key: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.#revs.get(key)?.trackers ?? []) out.set(t.endpoint.id, t.breaker.inFlight);
    return out;
  }

  keys(): IterableIterator<string> {
    return this.#revs.keys();
  }

  #create(key: string): RevisionEntry {
    const rev: RevisionEntry = {
      key,
      cc: 0,
      timeoutMs: DEFAULT_TIMEOUT_SECONDS * 1000,
      trackers: [],
      picker: pickerFor(0, this.#random),
      failure: undefined,
      queue: [],
      head: 0,
      waiting: 0,
      inFlight: 0,
      coldPending: false,
    };
    this.#revs.set(key, rev);
    return rev;
  }

  #dispatch(rev: RevisionEntry, t: ReplicaTracker, req: ThrottledRequest, queued: QueuedRequest | undefined, remainingMs: number, coldMs: number): void {
    t.breaker.tryAcquire();
    rev.inFlight++;
    req.start(new Lease(rev, t, queued), remainingMs, coldMs);
  }

  #drain(rev: RevisionEntry): void {
    while (rev.waiting > 0) {
      const t = rev.picker.pick(rev.trackers);
      if (t === undefined) return;
      const br = this.#shift(rev);
      if (br === undefined) return;
      br.transition('dispatched');
      rev.waiting--;
      this.#detach(br);
      const waited = Math.max(0, this.#clock.now() - br.enqueuedAt);
      const remaining = Math.max(1, rev.timeoutMs - waited);
      this.#dispatch(rev, t, br.target, br, remaining, br.coldStart ? waited : -1);
    }
  }

  #shift(rev: RevisionEntry): QueuedRequest | undefined {
    while (rev.head < rev.queue.length) {
      const br = rev.queue[rev.head];
      rev.queue[rev.head] = undefined;
      rev.head++;
      if (br !== undefined && br.state === 'queued') {
        this.#compact(rev);
        return br;
      }
    }
    rev.queue = [];
    rev.head = 0;
    return undefined;
  }

  #compact(rev: RevisionEntry): void {
    if (rev.head === rev.queue.length) {
      rev.queue = [];
      rev.head = 0;
    } else if (rev.head > 1024 && rev.head * 2 > rev.queue.length) {
      rev.queue = rev.queue.slice(rev.head);
      rev.head = 0;
    }
  }

  #expire(rev: RevisionEntry, br: QueuedRequest): void {
    if (br.state !== 'queued') return;
    br.timer = undefined;
    this.#abandon(rev, br, new QueueTimeoutError(rev.key, Math.max(0, this.#clock.now() - br.enqueuedAt)));
  }

  #abandon(rev: RevisionEntry, br: QueuedRequest, err: ActivatorError): void {
    if (br.state !== 'queued') return;
    br.transition('rejected');
    rev.waiting--;
    this.#detach(br);
    br.target.reject(err);
  }

  #detach(br: QueuedRequest): void {
    br.timer?.cancel();
    br.timer = undefined;
    if (br.onAbort !== undefined) br.signal?.removeEventListener('abort', br.onAbort);
    br.onAbort = undefined;
  }

  #rejectQueued(rev: RevisionEntry, makeErr: () => ActivatorError): void {
    for (let i = rev.head; i < rev.queue.length; i++) {
      const br = rev.queue[i];
      if (br !== undefined && br.state === 'queued') this.#abandon(rev, br, makeErr());
    }
    rev.queue = [];
    rev.head = 0;
  }
}

function failedError(rev: RevisionEntry): RevisionFailedError {
  return new RevisionFailedError(rev.key, rev.failure?.reason ?? 'Unknown', rev.failure?.message ?? '');
}

function endpointId(ep: { id: string; host: string; port: number }): string {
  return `${ep.id}@${ep.host}:${ep.port}`;
}

export function timeoutMsOf(timeoutSeconds: number | undefined): number {
  const s = timeoutSeconds !== undefined && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : DEFAULT_TIMEOUT_SECONDS;
  return s * 1000;
}
