/**
 * One Trigger's in-memory queue and its consumer loop: at most `maxInFlight` slots, each slot running one
 * event from first attempt to `done` (a `retry` keeps the slot during its back-off, so with one slot the
 * arrival order holds across retries). Time is read only through the injected Clock.
 */
import type { Clock, Timer } from '../../src/clock.js';
import type { CloudEvent } from 'cloudevents';
import type { Consumer, EventHandler, HandleOutcome, StoredEvent, TriggerSubscription } from '../types.js';
import { HandlerFailedError } from '../errors.js';
import { isHandleOutcome, describeValue } from './outcome.js';

export interface MemorySubscriptionOptions {
  clock: Clock;
  closeTimeoutMs: number;
  onError: (err: HandlerFailedError) => void;
  /** Called once when close() starts, so the backend stops fanning out to this subscription. */
  onClose: (sub: MemorySubscription) => void;
  /** Called after the consumer took events from the queue (the backend admits paced publishers). */
  onTake?: () => void;
}

const DONE: HandleOutcome = Object.freeze({ kind: 'done' });

export class MemorySubscription implements Consumer {
  readonly maxInFlight: number;
  readonly #handle: EventHandler;
  readonly #opts: MemorySubscriptionOptions;
  #items: StoredEvent[] = [];
  #head = 0;
  #inFlight = 0;
  #closing: Promise<void> | undefined;
  readonly #backoffs = new Map<Timer, (continued: boolean) => void>();
  readonly #idleWaiters: Array<() => void> = [];

  constructor(readonly sub: TriggerSubscription, handle: EventHandler, opts: MemorySubscriptionOptions) {
    this.maxInFlight = Number.isFinite(sub.maxInFlight) ? Math.max(1, Math.floor(sub.maxInFlight)) : 1;
    this.#handle = handle;
    this.#opts = opts;
  }

  get trigger(): string {
    return this.sub.trigger;
  }

  /** Events waiting for a slot. */
  get queued(): number {
    return this.#items.length - this.#head;
  }

  /** Slots in use: handler calls running plus events waiting out a retry back-off. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** How many of `events` this subscription would queue (all without a prefilter). */
  matchingOf(events: readonly CloudEvent<unknown>[]): number {
    const pre = this.sub.prefilter;
    if (pre === undefined) return events.length;
    let n = 0;
    for (const e of events) if (pre.matches(e) !== undefined) n++;
    return n;
  }

  /**
   * Queues the events that pass the Trigger's filter (all without a prefilter), in order, and counts the others as
   * filtered once for the batch. Each queued event records the filter it passed, so the handler does not run it again.
   */
  offer(events: readonly CloudEvent<unknown>[]): void {
    if (this.closed) return;
    const pre = this.sub.prefilter;
    if (pre === undefined) {
      for (const event of events) this.#items.push({ event, attempt: 0 });
    } else {
      let rejected = 0;
      for (const event of events) {
        const matched = pre.matches(event);
        if (matched === undefined) rejected++;
        else this.#items.push({ event, attempt: 0, matched });
      }
      if (rejected > 0) pre.filtered(rejected);
      if (rejected === events.length) return;
    }
    this.#pump();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#opts.onClose(this);
    this.#items = [];
    this.#head = 0;
    for (const [timer, resume] of this.#backoffs) {
      timer.cancel();
      resume(false);
    }
    this.#backoffs.clear();
    if (this.#inFlight === 0 || this.#opts.closeTimeoutMs <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = this.#opts.clock.setTimeout(resolve, this.#opts.closeTimeoutMs);
      this.#idleWaiters.push(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  #pump(): void {
    let took = false;
    while (!this.closed && this.#inFlight < this.maxInFlight && this.queued > 0) {
      took = true;
      const item = this.#items[this.#head] as StoredEvent;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      this.#inFlight++;
      this.#schedule(item);
    }
    if (took) this.#opts.onTake?.();
  }

  /**
   * Runs the handler off the caller's stack (the ingress's publish, a clock's advance): every attempt scheduled in
   * one synchronous run starts in ONE microtask. Callbacks rather than an async loop per event: the event loop is
   * shared with the ingress, and the promises and microtask hops of `await` per event were measurable (bench:broker).
   */
  #schedule(stored: StoredEvent): void {
    this.#starting.push(stored);
    if (this.#starting.length === 1) queueMicrotask(this.#startAll);
  }

  #starting: StoredEvent[] = [];

  readonly #startAll = (): void => {
    const items = this.#starting;
    this.#starting = [];
    for (const item of items) this.#attempt(item);
  };

  /** One handler call; a throw or a malformed outcome is a bug: reported, counted as done. */
  #attempt(stored: StoredEvent): void {
    let result: unknown;
    try {
      result = this.#handle(stored);
    } catch (err) {
      this.#outcome(stored, this.#threw(stored, err));
      return;
    }
    if (typeof (result as { then?: unknown } | null)?.then !== 'function') {
      this.#outcome(stored, this.#checked(stored, result));
      return;
    }
    (result as Promise<unknown>).then(
      (outcome) => this.#outcome(stored, this.#checked(stored, outcome)),
      (err: unknown) => this.#outcome(stored, this.#threw(stored, err)),
    );
  }

  #checked(stored: StoredEvent, outcome: unknown): HandleOutcome {
    if (isHandleOutcome(outcome)) return outcome;
    this.#report(new HandlerFailedError(this.trigger, stored.event.id, `returned an invalid outcome ${describeValue(outcome)}`));
    return DONE;
  }

  #threw(stored: StoredEvent, err: unknown): HandleOutcome {
    const why = err instanceof Error ? err.message : String(err);
    this.#report(new HandlerFailedError(this.trigger, stored.event.id, `threw: ${why}`, { cause: err }));
    return DONE;
  }

  /** `done` frees the slot; `retry` keeps it through the back-off, then attempts again with `attempt + 1`. */
  #outcome(stored: StoredEvent, outcome: HandleOutcome): void {
    if (outcome.kind === 'done' || this.closed) {
      this.#finish();
      return;
    }
    this.#backoff(outcome.delayMs, (continued) => {
      if (continued) this.#schedule({ event: stored.event, attempt: stored.attempt + 1 });
      else this.#finish();
    });
  }

  #finish(): void {
    this.#inFlight--;
    if (this.closed) {
      if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
      return;
    }
    this.#pump();
  }

  #report(err: HandlerFailedError): void {
    try {
      this.#opts.onError(err);
    } catch {
      // A broken error reporter must not take the consumer loop down.
    }
  }

  /** Calls `then(true)` after `delayMs` on the clock, or `then(false)` if the subscription closes first. */
  #backoff(delayMs: number, then: (continued: boolean) => void): void {
    const ms = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    const timer = this.#opts.clock.setTimeout(() => {
      this.#backoffs.delete(timer);
      then(true);
    }, ms);
    this.#backoffs.set(timer, then);
  }
}
