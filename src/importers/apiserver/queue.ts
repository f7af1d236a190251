/**
 * The delivery side of an ApiServerSource runner, shared by the embedded and the Kubernetes runner: events go to the
 * sink one at a time, in order, each retried with exponential back-off on retryable failures (deliver.ts). push()
 * never blocks: the queue is bounded (`maxQueued`), and when a stuck sink lets it fill up the OLDEST queued event is
 * dropped to make room, counted in `dropped` and reported through `onError` as a SourceOverloadedError.
 */
import type { CloudEvent } from 'cloudevents';
import type { Sender } from '../../../broker/delivery/index.js';
import type { Clock } from '../../clock.js';
import { deliverToSink } from '../deliver.js';
import { SourceOverloadedError, type SourceDeliveryError } from '../errors.js';
import { CancellableWaits } from '../waits.js';

export interface ApiServerDeliveryPolicy {
  /** Retries after the first attempt. Default 3. */
  retry: number;
  /** Base of the exponential back-off (k-th retry waits base × 2^k). Default 500 ms. */
  backoffDelayMs: number;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs: number;
  /** Events waiting for delivery; beyond it the oldest is dropped. Default 1000. */
  maxQueued: number;
}

export const DEFAULT_API_SERVER_DELIVERY: Readonly<ApiServerDeliveryPolicy> = Object.freeze({ retry: 3, backoffDelayMs: 500, timeoutMs: 10_000, maxQueued: 1000 });

/** What happened to one event, for observers (tests, logs, metrics). */
export type ApiServerOutcome =
  | { kind: 'delivered'; type: string; subject: string; attempts: number; status: number }
  | { kind: 'failed'; type: string; subject: string; attempts: number; error: SourceDeliveryError }
  | { kind: 'dropped'; type: string; subject: string; error: SourceOverloadedError };

export interface SinkQueueOptions {
  /** Names the source in errors, e.g. `ApiServerSource default/watch`. */
  label: string;
  sinkUri: string;
  clock: Clock;
  sender: Sender;
  delivery?: Partial<ApiServerDeliveryPolicy> | undefined;
  onOutcome?: ((outcome: ApiServerOutcome) => void) | undefined;
  /** Events given up on or dropped. */
  onError?: ((err: SourceDeliveryError | SourceOverloadedError) => void) | undefined;
}

const attrsOf = (e: CloudEvent<unknown>): { type: string; subject: string } => ({ type: e.type, subject: e.subject ?? '' });

export class SinkQueue {
  readonly #o: SinkQueueOptions;
  readonly #policy: ApiServerDeliveryPolicy;
  readonly #waits: CancellableWaits;
  readonly #queue: CloudEvent<unknown>[] = [];
  #pump: Promise<void> | undefined;
  #dropped = 0;
  #stopped = false;

  constructor(options: SinkQueueOptions) {
    this.#o = options;
    this.#policy = { ...DEFAULT_API_SERVER_DELIVERY, ...options.delivery };
    this.#waits = new CancellableWaits(options.clock);
  }

  /** Events waiting for delivery (not counting the one being delivered). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues one event (dropping the oldest when full) and starts delivering if idle. Ignored once stopped. */
  push(event: CloudEvent<unknown>): void {
    if (this.#stopped) return;
    if (this.#queue.length >= this.#policy.maxQueued) {
      const oldest = this.#queue.shift();
      this.#dropped += 1;
      const error = new SourceOverloadedError({ source: this.#o.label, inFlight: this.#policy.maxQueued + 1 });
      if (oldest) this.#o.onOutcome?.({ kind: 'dropped', ...attrsOf(oldest), error });
      this.#o.onError?.(error);
    }
    this.#queue.push(event);
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined;
    });
  }

  /** Drops queued events and cancels a pending retry; an attempt on the wire finishes but is not retried. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#waits.cancelAll();
  }

  /** Resolves when the queue is empty and no delivery is running. */
  async drained(): Promise<void> {
    while (this.#pump) await this.#pump;
  }

  async #run(): Promise<void> {
    for (let event = this.#queue.shift(); event !== undefined && !this.#stopped; event = this.#queue.shift()) {
      await this.#deliver(event);
    }
  }

  async #deliver(event: CloudEvent<unknown>): Promise<void> {
    const r = await deliverToSink({
      sender: this.#o.sender,
      sinkUri: this.#o.sinkUri,
      event,
      policy: this.#policy,
      label: this.#o.label,
      isRunning: () => !this.#stopped,
      wait: (ms) => (this.#stopped ? Promise.resolve(false) : this.#waits.wait(ms)),
    });
    if (r.kind === 'delivered') {
      this.#o.onOutcome?.({ kind: 'delivered', ...attrsOf(event), attempts: r.attempts, status: r.status });
      return;
    }
    // One abandoned because the source stopped is an outcome, not an error.
    this.#o.onOutcome?.({ kind: 'failed', ...attrsOf(event), attempts: r.attempts, error: r.error });
    if (!r.stopped) this.#o.onError?.(r.error);
  }
}
