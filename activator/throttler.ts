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

interface RevisionEntry {
  key: string;
  cc: number;
  timeoutMs: number;
  trackers: ReplicaTracker[];
  picker: ReplicaPicker;
  failure: RevisionFailure | undefined;
  queue: (BufferedRequest<any> | undefined)[];
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
    if (this.#closed) return Promise.reject(new ShuttingDownError());
    const rev = this.#revs.get(key) ?? this.#create(key);
    if (rev.failure !== undefined) return Promise.reject(failedError(rev));
    if (signal?.aborted) return Promise.reject(new RequestAbortedError(key));
    if (rev.waiting === 0) {
      const t = rev.picker.pick(rev.trackers);
      if (t !== undefined) return this.#dispatch(rev, t, work, rev.timeoutMs, -1);
    }
    if (rev.waiting >= this.#depth) return Promise.reject(new QueueFullError(key, this.#depth));
    const cold = rev.trackers.length === 0;
    if (cold && !rev.coldPending) {
      rev.coldPending = true;
      this.#onColdStart(key);
    }
    return new Promise<T>((resolve, reject) => {
      const br = new BufferedRequest<T>(work, resolve, reject, this.#clock.now(), cold, signal);
      rev.queue.push(br);
      rev.waiting++;
      br.timer = this.#clock.setTimeout(() => this.#expire(rev, br), rev.timeoutMs);
      if (signal !== undefined) {
        br.onAbort = () => this.#abandon(rev, br, new RequestAbortedError(key));
        signal.addEventListener('abort', br.onAbort, { once: true });
      }
    });
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

  #dispatch<T>(rev: RevisionEntry, t: ReplicaTracker, work: DispatchWork<T>, remainingMs: number, coldMs: number): Promise<T> {
    t.breaker.tryAcquire();
    rev.inFlight++;
    let p: Promise<T>;
    try {
      p = work(t.endpoint, remainingMs, coldMs);
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => {
      t.breaker.release();
      rev.inFlight--;
      if (rev.waiting > 0) this.#drain(rev);
    });
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
      this.#dispatch(rev, t, br.work, remaining, br.coldStart ? waited : -1).then(
        (v) => {
          br.transition('done');
          br.resolve(v);
        },
        (err: unknown) => {
          br.transition('rejected');
          br.reject(err);
        },
      );
    }
  }

  #shift(rev: RevisionEntry): BufferedRequest<any> | undefined {
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

  #expire(rev: RevisionEntry, br: BufferedRequest<any>): void {
    if (br.state !== 'queued') return;
    br.timer = undefined;
    this.#abandon(rev, br, new QueueTimeoutError(rev.key, Math.max(0, this.#clock.now() - br.enqueuedAt)));
  }

  #abandon(rev: RevisionEntry, br: BufferedRequest<any>, err: ActivatorError): void {
    if (br.state !== 'queued') return;
    br.transition('rejected');
    rev.waiting--;
    this.#detach(br);
    br.reject(err);
  }

  #detach(br: BufferedRequest<any>): void {
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
