/**
 * Runs one ApiServerSource: subscribes to the store's watch, maps each change to a CloudEvent (event.ts) and delivers
 * the events to the sink one at a time, in order, retrying each with exponential back-off on retryable failures.
 *
 * The store's watch listeners run synchronously inside every write, so the listener only enqueues. The queue is
 * bounded (`maxQueued`): when a stuck sink lets it fill up, the OLDEST queued event is dropped to make room, counted
 * in `dropped` and reported through `onError` as a SourceOverloadedError. The store is never slowed by a sink.
 */
import { randomUUID } from 'node:crypto';
import type { CloudEvent } from 'cloudevents';
import type { Sender } from '../../../broker/delivery/index.js';
import type { Clock } from '../../clock.js';
import type { ResourceReader, WatchEvent } from '../../control/resource-store.js';
import { deliverToSink } from '../deliver.js';
import { CancellableWaits } from '../waits.js';
import { SourceOverloadedError, type SourceDeliveryError } from '../errors.js';
import { eventFor, type ApiServerMode, type ApiServerWatchSpec } from './event.js';

/** What a runner needs of an ApiServerSource, resolved: the sink is a URL. */
export interface ApiServerRunSpec extends ApiServerWatchSpec {
  name: string;
  mode: ApiServerMode;
  sinkUri: string;
}

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

export interface ApiServerSourceRunnerOptions {
  spec: ApiServerRunSpec;
  store: ResourceReader;
  clock: Clock;
  sender: Sender;
  delivery?: Partial<ApiServerDeliveryPolicy>;
  /** Event ids; default random UUIDs. */
  newId?: () => string;
  onOutcome?: (outcome: ApiServerOutcome) => void;
  /** Events given up on or dropped. */
  onError?: (err: SourceDeliveryError | SourceOverloadedError) => void;
}

type RunnerState = 'new' | 'running' | 'stopped';

const attrsOf = (e: CloudEvent<unknown>): { type: string; subject: string } => ({ type: e.type, subject: e.subject ?? '' });

export class ApiServerSourceRunner {
  readonly #o: ApiServerSourceRunnerOptions;
  readonly #policy: ApiServerDeliveryPolicy;
  readonly #label: string;
  #state: RunnerState = 'new';
  #unsubscribe: (() => void) | undefined;
  readonly #queue: CloudEvent<unknown>[] = [];
  #pump: Promise<void> | undefined;
  readonly #waits: CancellableWaits;
  #dropped = 0;

  constructor(options: ApiServerSourceRunnerOptions) {
    this.#o = options;
    this.#waits = new CancellableWaits(options.clock);
    this.#policy = { ...DEFAULT_API_SERVER_DELIVERY, ...options.delivery };
    this.#label = `ApiServerSource ${options.spec.namespace}/${options.spec.name}`;
  }

  get spec(): ApiServerRunSpec {
    return this.#o.spec;
  }

  /** Events waiting for delivery (not counting the one being delivered). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Subscribes to the store's watch; changes from now on become events. */
  start(): void {
    if (this.#state !== 'new') throw new Error(`${this.#label}: runner cannot start when ${this.#state}`);
    this.#state = 'running';
    this.#unsubscribe = this.#o.store.watch((ev) => this.#onWatch(ev));
  }

  /** Unsubscribes, drops queued events and cancels a pending retry; an attempt on the wire finishes but is not retried. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#queue.length = 0;
    this.#waits.cancelAll();
  }

  /** Resolves when the queue is empty and no delivery is running. */
  async drained(): Promise<void> {
    while (this.#pump) await this.#pump;
  }

  #onWatch(ev: WatchEvent): void {
    if (this.#state !== 'running') return;
    const { spec } = this.#o;
    const event = eventFor(spec, ev, spec.mode, (this.#o.newId ?? randomUUID)(), this.#o.clock.now());
    if (!event) return;
    if (this.#queue.length >= this.#policy.maxQueued) {
      const oldest = this.#queue.shift();
      this.#dropped += 1;
      const error = new SourceOverloadedError({ source: this.#label, inFlight: this.#policy.maxQueued + 1 });
      if (oldest) this.#o.onOutcome?.({ kind: 'dropped', ...attrsOf(oldest), error });
      this.#o.onError?.(error);
    }
    this.#queue.push(event);
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined;
    });
  }

  async #run(): Promise<void> {
    for (let event = this.#queue.shift(); event !== undefined && this.#state === 'running'; event = this.#queue.shift()) {
      await this.#deliver(event);
    }
  }

  async #deliver(event: CloudEvent<unknown>): Promise<void> {
    const r = await deliverToSink({
      sender: this.#o.sender,
      sinkUri: this.#o.spec.sinkUri,
      event,
      policy: this.#policy,
      label: this.#label,
      isRunning: () => this.#state === 'running',
      wait: (ms) => this.#wait(ms),
    });
    if (r.kind === 'delivered') {
      this.#o.onOutcome?.({ kind: 'delivered', ...attrsOf(event), attempts: r.attempts, status: r.status });
      return;
    }
    // One abandoned because the source stopped is an outcome, not an error.
    this.#o.onOutcome?.({ kind: 'failed', ...attrsOf(event), attempts: r.attempts, error: r.error });
    if (!r.stopped) this.#o.onError?.(r.error);
  }

  /** Resolves true after `ms` on the clock, or false at once when the runner stops meanwhile. */
  #wait(ms: number): Promise<boolean> {
    return this.#state === 'running' ? this.#waits.wait(ms) : Promise.resolve(false);
  }
}
