/**
 * Runs one PingSource: one timer on the injected Clock set to the next fire time; each tick sends a fresh event
 * to the sink through a Sender, retrying that event with exponential back-off on retryable failures (without
 * delaying the next tick), then sets the timer for the tick after. A slow sink cannot pile up deliveries: past
 * `maxInFlight` events still being delivered, a tick is skipped and reported.
 */
import { randomUUID } from 'node:crypto';
import type { Sender } from '../../../broker/delivery/index.js';
import type { Clock, Timer } from '../../clock.js';
import { deliverToSink } from '../deliver.js';
import { CancellableWaits } from '../waits.js';
import { ScheduleError, SourceOverloadedError, type SourceDeliveryError } from '../errors.js';
import { pingEvent, type PingPayload } from './event.js';
import { nextFire } from './schedule.js';

/** What a runner needs of a PingSource, resolved: the sink is a URL. */
export interface PingRunSpec {
  namespace: string;
  name: string;
  schedule: string;
  timezone?: string;
  payload: PingPayload;
  sinkUri: string;
}

export interface PingDeliveryPolicy {
  /** Retries after the first attempt. Default 3. */
  retry: number;
  /** Base of the exponential back-off (k-th retry waits base × 2^k). Default 500 ms. */
  backoffDelayMs: number;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs: number;
  /** Events of this source being delivered at once (attempts and back-off waits); further ticks are skipped. Default 4. */
  maxInFlight: number;
}

export const DEFAULT_PING_DELIVERY: Readonly<PingDeliveryPolicy> = Object.freeze({ retry: 3, backoffDelayMs: 500, timeoutMs: 10_000, maxInFlight: 4 });

/** What happened to one tick's event, for observers (tests, logs, metrics). */
export type PingOutcome =
  | { kind: 'delivered'; fireAt: number; attempts: number; status: number }
  | { kind: 'failed'; fireAt: number; attempts: number; error: SourceDeliveryError }
  | { kind: 'skipped'; fireAt: number; error: SourceOverloadedError };

export interface PingSourceRunnerOptions {
  spec: PingRunSpec;
  clock: Clock;
  sender: Sender;
  delivery?: Partial<PingDeliveryPolicy>;
  /** Event ids; default random UUIDs. */
  newId?: () => string;
  /** Every tick's outcome. */
  onOutcome?: (outcome: PingOutcome) => void;
  /** Failed, skipped and unschedulable ticks. */
  onError?: (err: SourceDeliveryError | SourceOverloadedError | ScheduleError) => void;
}

type RunnerState = 'new' | 'running' | 'stopped';

export class PingSourceRunner {
  readonly #o: PingSourceRunnerOptions;
  readonly #policy: PingDeliveryPolicy;
  readonly #label: string;
  #state: RunnerState = 'new';
  #tick: Timer | undefined;
  readonly #waits: CancellableWaits;
  #inFlight = 0;
  readonly #settled = new Set<Promise<void>>();

  constructor(options: PingSourceRunnerOptions) {
    this.#o = options;
    this.#waits = new CancellableWaits(options.clock);
    this.#policy = { ...DEFAULT_PING_DELIVERY, ...options.delivery };
    this.#label = `PingSource ${options.spec.namespace}/${options.spec.name}`;
  }

  get spec(): PingRunSpec {
    return this.#o.spec;
  }

  /** Events being delivered now (attempting or waiting to retry). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Sets the timer for the first fire time after now. */
  start(): void {
    if (this.#state !== 'new') throw new Error(`${this.#label}: runner cannot start when ${this.#state}`);
    this.#state = 'running';
    this.#schedule(this.#o.clock.now());
  }

  /** Cancels the next tick and every pending retry; an attempt already on the wire finishes but is not retried. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#tick?.cancel();
    this.#tick = undefined;
    this.#waits.cancelAll();
  }

  /** Resolves when every delivery started so far has finished (delivered, failed or abandoned by stop()). */
  async drained(): Promise<void> {
    while (this.#settled.size > 0) await Promise.all([...this.#settled]);
  }

  #schedule(after: number): void {
    const { schedule, timezone } = this.#o.spec;
    let at: number | undefined;
    try {
      at = nextFire(schedule, timezone, after);
    } catch (err) {
      this.#o.onError?.(new ScheduleError(`${this.#label}: cannot evaluate schedule "${schedule}": ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return;
    }
    if (at === undefined) return;
    const fireAt = at;
    this.#tick = this.#o.clock.setTimeout(() => this.#fire(fireAt), Math.max(0, fireAt - this.#o.clock.now()));
  }

  #fire(fireAt: number): void {
    if (this.#state !== 'running') return;
    this.#tick = undefined;
    // The next tick first: a delivery never delays it. A late timer skips the ticks it missed.
    this.#schedule(Math.max(fireAt, this.#o.clock.now()));
    if (this.#inFlight >= this.#policy.maxInFlight) {
      const error = new SourceOverloadedError({ source: this.#label, inFlight: this.#inFlight });
      this.#o.onOutcome?.({ kind: 'skipped', fireAt, error });
      this.#o.onError?.(error);
      return;
    }
    const { spec } = this.#o;
    const event = pingEvent({ namespace: spec.namespace, name: spec.name, id: (this.#o.newId ?? randomUUID)(), fireAt, payload: spec.payload });
    this.#inFlight += 1;
    const p = this.#deliver(event, fireAt).finally(() => {
      this.#inFlight -= 1;
      this.#settled.delete(p);
    });
    this.#settled.add(p);
  }

  async #deliver(event: Parameters<Sender['send']>[1], fireAt: number): Promise<void> {
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
      this.#o.onOutcome?.({ kind: 'delivered', fireAt, attempts: r.attempts, status: r.status });
      return;
    }
    // One abandoned because the source stopped is an outcome, not an error.
    this.#o.onOutcome?.({ kind: 'failed', fireAt, attempts: r.attempts, error: r.error });
    if (!r.stopped) this.#o.onError?.(r.error);
  }

  /** Resolves true after `ms` on the clock, or false at once when the runner stops meanwhile. */
  #wait(ms: number): Promise<boolean> {
    return this.#state === 'running' ? this.#waits.wait(ms) : Promise.resolve(false);
  }
}
