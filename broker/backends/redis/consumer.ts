/**
 * One Trigger's consumer on the Redis broker class: a BullMQ `Worker` on the trigger's queue.
 *
 * - Concurrency = `maxInFlight`, shared by up to WORKERS_PER_CONSUMER (4) BullMQ Workers of this consumer (their
 *   concurrencies sum to maxInFlight). BullMQ's concurrency is PER WORKER: two processes (or two RedisBackend
 *   instances) consuming the same trigger each run up to `maxInFlight` handlers, so the bound holds per process.
 * - A `retry` outcome with `maxInFlight > 1` becomes a delayed job: the attempt count is written to the job's
 *   data, the job moves to BullMQ's delayed set until `Date.now() + delayMs` (BullMQ compares delays with the
 *   wall clock inside its Lua scripts, so the injected Clock cannot drive them) and the slot is free meanwhile.
 * - With `maxInFlight: 1` (arrival order must hold across retries) the job is retried IN PLACE: the worker keeps
 *   it active, waits `delayMs` on the injected Clock and calls the handler again, so no later event overtakes it.
 *   The attempt count is still written to the job first, so a crash mid-back-off redelivers with the right count.
 *   If the consumer closes during the back-off the job goes back to the FRONT of the wait list (BullMQ's
 *   moveToWait uses RPUSH on the consuming end) for the next consumer.
 * - Crash safety: a job stays `active` while its handler runs; BullMQ renews its lock every lockDuration/2 while
 *   the worker lives (a handler may take longer than the lock). If the process dies, the lock expires after
 *   `lockDuration` and a live worker's stalled check (every `stalledInterval`) puts the job back in `wait`:
 *   at-least-once. `maxStalledCount` bounds how often one job may do that (a poison event crashing every
 *   worker) before BullMQ fails it.
 */
import { DelayedError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { sleep, type Clock } from '../../../src/clock.js';
import { HandlerFailedError } from '../../errors.js';
import type { Consumer, EventHandler, HandleOutcome, StoredEvent, TriggerSubscription } from '../../types.js';
import { decodeEvent, type EventJobData } from './codec.js';
import { describeError } from './connection.js';
import { isHandleOutcome, describeValue } from '../outcome.js';

export interface Logger {
  info(m: string): void;
  warn(m: string): void;
}

export interface WorkerTuning {
  /** How long a job's lock lasts without renewal (renewed every half of it while the worker lives). */
  lockDurationMs: number;
  /** How often a worker looks for jobs whose lock expired (their worker died) and puts them back in wait. */
  stalledIntervalMs: number;
  /** Stalls of one job tolerated before BullMQ fails it. */
  maxStalledCount: number;
  /** How long close() waits for handlers in flight before force-closing (their jobs stay active → stalled → wait). */
  closeTimeoutMs: number;
}

export interface RedisConsumerOptions extends WorkerTuning {
  sub: TriggerSubscription;
  handle: EventHandler;
  queueName: string;
  bullPrefix: string;
  connection: Redis;
  clock: Clock;
  logger: Logger;
  /** Called once when close() starts. */
  onClose: (c: RedisConsumer) => void;
}

const DONE: HandleOutcome = Object.freeze({ kind: 'done' });

/** BullMQ Workers per consumer sharing its maxInFlight slots (see the constructor). */
export const WORKERS_PER_CONSUMER = 4;

/** Completed jobs are deleted at once; a few failed ones (stalled too often) are kept for inspection. */
export const REMOVE_ON_FAIL = Object.freeze({ count: 100 });

export class RedisConsumer implements Consumer {
  readonly maxInFlight: number;
  readonly #o: RedisConsumerOptions;
  readonly #workers: Array<Worker<EventJobData>>;
  readonly #closingSignal = new AbortController();
  #closing: Promise<void> | undefined;
  #lastWorkerError: string | undefined;
  #inFlight = 0;
  readonly #idleWaiters: Array<() => void> = [];

  constructor(o: RedisConsumerOptions) {
    this.#o = o;
    this.maxInFlight = Number.isFinite(o.sub.maxInFlight) ? Math.max(1, Math.floor(o.sub.maxInFlight)) : 1;
    // Several BullMQ Workers share the slots (maxInFlight in total) when maxInFlight allows it: one Worker's main
    // loop fetches a job per round trip whenever a slot frees without a next job (moveToActive is awaited in
    // sequence), which bounded one trigger's delivery (bench:broker, 1 Trigger, quiet 2-core machine: one Worker
    // 3 293 ev/s with a p50 of 143 ms of queueing, four Workers 4 598 ev/s, p50 35 ms). maxInFlight 1 keeps ONE
    // worker with one slot: arrival order, as before.
    const count = Math.min(WORKERS_PER_CONSUMER, this.maxInFlight);
    this.#workers = Array.from({ length: count }, (_, i) => {
      const worker = new Worker<EventJobData>(o.queueName, (job, token) => this.#track(job, token), {
        connection: o.connection,
        prefix: o.bullPrefix,
        concurrency: Math.floor(this.maxInFlight / count) + (i < this.maxInFlight % count ? 1 : 0),
        lockDuration: o.lockDurationMs,
        stalledInterval: o.stalledIntervalMs,
        maxStalledCount: o.maxStalledCount,
        removeOnComplete: { count: 0 },
        removeOnFail: REMOVE_ON_FAIL,
        // Poll for delayed jobs / new work promptly after an idle spell (seconds).
        drainDelay: 5,
        name: `wisp:${o.sub.trigger}`,
      });
      worker.on('error', (err: unknown) => {
        const msg = describeError(err);
        if (msg === this.#lastWorkerError) return; // one line per distinct problem, not one per reconnect attempt
        this.#lastWorkerError = msg;
        o.logger.warn(`redis broker: trigger ${o.sub.trigger} worker: ${msg}`);
      });
      worker.on('ready', () => (this.#lastWorkerError = undefined));
      return worker;
    });
  }

  get trigger(): string {
    return this.#o.sub.trigger;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Resolves once the worker is connected (BullMQ loaded its scripts). */
  waitUntilReady(): Promise<void> {
    return Promise.all(this.#workers.map((w) => w.waitUntilReady())).then(() => undefined);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#o.onClose(this);
    this.#closingSignal.abort(new Error('consumer closing'));
    // Stop fetching, then wait (bounded) for the handlers in flight ourselves: BullMQ's close() cannot be turned
    // into a forced close once started, so it is only called when the outcome is known.
    await Promise.all(this.#workers.map((w) => w.pause(true).catch(() => undefined)));
    const finished = this.#inFlight === 0 || (await this.#idle());
    if (!finished) {
      this.#o.logger.warn(`redis broker: trigger ${this.trigger}: handlers still running after ${this.#o.closeTimeoutMs} ms; closing anyway (their events are redelivered)`);
    }
    await Promise.all(this.#workers.map((w) => w.close(!finished).catch(() => undefined)));
  }

  /** Resolves true once no handler runs, false after closeTimeoutMs. */
  #idle(): Promise<boolean> {
    if (this.#o.closeTimeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = this.#o.clock.setTimeout(() => resolve(false), this.#o.closeTimeoutMs);
      this.#idleWaiters.push(() => {
        timer.cancel();
        resolve(true);
      });
    });
  }

  async #track(job: Job<EventJobData>, token: string | undefined): Promise<void> {
    this.#inFlight++;
    try {
      await this.#process(job, token);
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  async #process(job: Job<EventJobData>, token: string | undefined): Promise<void> {
    let stored: StoredEvent;
    try {
      stored = decodeEvent(job.data);
    } catch (err) {
      this.#report(new HandlerFailedError(this.trigger, `job ${job.id ?? '?'}`, `cannot be decoded (${describeError(err)}); dropped`, { cause: err }));
      return;
    }
    if (this.maxInFlight === 1) return this.#processInPlace(job, token, stored);
    const outcome = await this.#call(stored);
    if (outcome.kind === 'done') return;
    await job.updateData(encodeWith(job.data, stored.attempt + 1));
    await job.moveToDelayed(Date.now() + outcome.delayMs, token);
    throw new DelayedError();
  }

  async #processInPlace(job: Job<EventJobData>, token: string | undefined, first: StoredEvent): Promise<void> {
    let current = first;
    for (;;) {
      const outcome = await this.#call(current);
      if (outcome.kind === 'done') return;
      const next: StoredEvent = { event: current.event, attempt: current.attempt + 1 };
      await job.updateData(encodeWith(job.data, next.attempt));
      try {
        await sleep(this.#o.clock, outcome.delayMs, this.#closingSignal.signal);
      } catch {
        // Closing during the back-off: hand the event, first in line, to whichever consumer runs next.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      current = next;
    }
  }

  /** Runs the handler; a throw or a malformed outcome is a bug: reported, counted as done (as in Memory). */
  async #call(stored: StoredEvent): Promise<HandleOutcome> {
    let outcome: unknown;
    try {
      outcome = await this.#o.handle(stored);
    } catch (err) {
      this.#report(new HandlerFailedError(this.trigger, stored.event.id, `threw: ${describeError(err)}`, { cause: err }));
      return DONE;
    }
    if (isHandleOutcome(outcome)) {
      if (outcome.kind === 'retry' && !(Number.isFinite(outcome.delayMs) && outcome.delayMs >= 0)) return { kind: 'retry', delayMs: 0 };
      return outcome;
    }
    this.#report(new HandlerFailedError(this.trigger, stored.event.id, `returned an invalid outcome ${describeValue(outcome)}`));
    return DONE;
  }

  #report(err: HandlerFailedError): void {
    try {
      this.#o.logger.warn(`redis broker: ${err.message}`);
    } catch {
      // A broken logger must not take the worker down.
    }
  }
}

function encodeWith(data: EventJobData, attempt: number): EventJobData {
  return { ...data, attempt };
}

