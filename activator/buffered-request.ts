import { InvalidTransitionError } from './errors.js';
import type { ReplicaEndpoint } from '../src/runtime/types.js';
import type { Timer } from '../src/clock.js';

export type BufferedState = 'queued' | 'dispatched' | 'done' | 'rejected';

const ALLOWED: Readonly<Record<BufferedState, readonly BufferedState[]>> = {
  queued: ['dispatched', 'rejected'],
  dispatched: ['done', 'rejected'],
  done: [],
  rejected: [],
};

/**
 * The work a caller hands the throttler: proxy to `dest`. `remainingMs` is what is left of the revision's
 * timeoutSeconds for the response to start; `coldStartMs` is how long the request waited for a replica
 * of a revision that had none (-1 when it did not wait for a cold start).
 */
export type DispatchWork<T> = (dest: ReplicaEndpoint, remainingMs: number, coldStartMs: number) => Promise<T>;

/**
 * A request waiting in a revision's queue: queued → dispatched → done | rejected (or queued → rejected).
 * Any other move throws InvalidTransitionError.
 */
export class BufferedRequest<T = unknown> {
  #state: BufferedState = 'queued';
  timer: Timer | undefined;
  onAbort: (() => void) | undefined;

  constructor(
    readonly work: DispatchWork<T>,
    readonly resolve: (value: T) => void,
    readonly reject: (err: unknown) => void,
    readonly enqueuedAt: number,
    /** True when the revision had no ready replica when this request arrived. */
    readonly coldStart: boolean,
    readonly signal: AbortSignal | undefined,
  ) {}

  get state(): BufferedState {
    return this.#state;
  }

  transition(to: BufferedState): void {
    if (!ALLOWED[this.#state].includes(to)) throw new InvalidTransitionError(this.#state, to);
    this.#state = to;
  }
}
