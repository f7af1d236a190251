/**
 * Runs one ApiServerSource on the embedded store: subscribes to the store's watch, maps each change to a CloudEvent
 * (event.ts) and hands it to a SinkQueue (queue.ts): one at a time, in order, with retries, bounded.
 *
 * The store's watch listeners run synchronously inside every write, so the listener only enqueues: the store is
 * never slowed by a sink.
 */
import { randomUUID } from 'node:crypto';
import type { Sender } from '../../../broker/delivery/index.js';
import type { Clock } from '../../clock.js';
import type { ResourceReader, WatchEvent } from '../../control/resource-store.js';
import type { SourceDeliveryError, SourceOverloadedError } from '../errors.js';
import { eventFor, type ApiServerMode, type ApiServerWatchSpec } from './event.js';
import { SinkQueue, type ApiServerDeliveryPolicy, type ApiServerOutcome } from './queue.js';

export { DEFAULT_API_SERVER_DELIVERY } from './queue.js';
export type { ApiServerDeliveryPolicy, ApiServerOutcome } from './queue.js';

/** What a runner needs of an ApiServerSource, resolved: the sink is a URL. */
export interface ApiServerRunSpec extends ApiServerWatchSpec {
  name: string;
  mode: ApiServerMode;
  sinkUri: string;
}

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

export class ApiServerSourceRunner {
  readonly #o: ApiServerSourceRunnerOptions;
  readonly #label: string;
  readonly #queue: SinkQueue;
  #state: RunnerState = 'new';
  #unsubscribe: (() => void) | undefined;

  constructor(options: ApiServerSourceRunnerOptions) {
    this.#o = options;
    this.#label = `ApiServerSource ${options.spec.namespace}/${options.spec.name}`;
    this.#queue = new SinkQueue({
      label: this.#label,
      sinkUri: options.spec.sinkUri,
      clock: options.clock,
      sender: options.sender,
      delivery: options.delivery,
      onOutcome: options.onOutcome,
      onError: options.onError,
    });
  }

  get spec(): ApiServerRunSpec {
    return this.#o.spec;
  }

  /** Events waiting for delivery (not counting the one being delivered). */
  get queued(): number {
    return this.#queue.queued;
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.#queue.dropped;
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
    this.#queue.stop();
  }

  /** Resolves when the queue is empty and no delivery is running. */
  drained(): Promise<void> {
    return this.#queue.drained();
  }

  #onWatch(ev: WatchEvent): void {
    if (this.#state !== 'running') return;
    const { spec } = this.#o;
    const event = eventFor(spec, ev, spec.mode, (this.#o.newId ?? randomUUID)(), this.#o.clock.now());
    if (event) this.#queue.push(event);
  }
}
