/**
 * The per-event work of one trigger: filter once (unless the backend already did, at publish), POST to the subscriber, then decide done / retry /
 * dead letter / drop. The backend owns retry scheduling: a retryable failure returns `{ kind: 'retry' }`
 * and the backend calls again with `attempt + 1`. Never throws.
 */
import { performance } from 'node:perf_hooks';
import type { CloudEvent } from 'cloudevents';
import { sleep, type Clock } from '../../src/clock.js';
import { backoffDelayMs, retryDelayMs } from '../delivery/backoff.js';
import { classifyResult, classifyStatus } from '../delivery/classify.js';
import { DEAD_LETTER_ATTEMPTS, ERROR_DATA_MAX_BYTES } from '../delivery/defaults.js';
import type { Sender, SendOptions, SendResult } from '../delivery/types.js';
import type { BrokerRef, EventHandler, HandleOutcome, StoredEvent, TriggerRuntime } from '../types.js';
import type { DispatcherMetrics, TriggerLabels, TriggerMeters } from './metrics.js';
import { describe, parseReply } from './reply.js';

export interface DispatcherLogger {
  info(m: string): void;
  warn(m: string): void;
}

export interface HandlerDeps {
  clock: Clock;
  sender: Sender;
  metrics: DispatcherMetrics;
  publishReply: (broker: BrokerRef, event: CloudEvent<unknown>) => Promise<void>;
  logger: DispatcherLogger;
}

/** Why an attempt failed, with what goes into the dead-letter extensions. */
interface Failure {
  retryable: boolean;
  /** `knativeerrordest` */
  dest: string;
  /** `knativeerrorcode`: the HTTP status, or 500 when no response came back (as Knative's dispatcher does). */
  code: number;
  /** `knativeerrordata` source: the response body, or a description of the error. */
  data: Buffer;
  reason: string;
  status?: number;
  retryAfter?: string;
}

/** Knative's dispatcher reports errors without a response (connection refused, timeout) as 500. */
export const NO_RESPONSE_ERROR_CODE = 500;

const DONE: HandleOutcome = Object.freeze({ kind: 'done' });

function labelsOf(rt: TriggerRuntime): TriggerLabels {
  return { broker: `${rt.namespace}/${rt.broker}`, trigger: rt.key };
}

function noResponseFailure(dest: string, res: Exclude<SendResult, { kind: 'response' }>, timeoutMs: number): Failure {
  const reason =
    res.kind === 'timeout' ? `timeout: no complete response within ${timeoutMs} ms` : res.kind === 'unsendable' ? describe(res.error) : `network error: ${describe(res.error)}`;
  // An event that cannot be written as a request never will be: dead-letter it now instead of holding a slot for every retry.
  return { retryable: res.kind !== 'unsendable', dest, code: NO_RESPONSE_ERROR_CODE, data: Buffer.from(`dispatch error: ${reason}`), reason };
}

/** Runs `fn` up to DEAD_LETTER_ATTEMPTS times, waiting the trigger's backoff between tries. */
async function withFewTries<T>(
  deps: HandlerDeps,
  rt: TriggerRuntime,
  fn: () => Promise<{ ok: true; value: T } | { ok: false; retryable: boolean; reason: string }>,
): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  let last = 'not attempted';
  for (let i = 1; i <= DEAD_LETTER_ATTEMPTS; i++) {
    const r = await fn();
    if (r.ok) return r;
    last = r.reason;
    if (!r.retryable || i === DEAD_LETTER_ATTEMPTS) break;
    await sleep(deps.clock, backoffDelayMs(rt.delivery, i));
  }
  return { ok: false, reason: last };
}

class TriggerHandler {
  #rt: TriggerRuntime | undefined;
  #meters: TriggerMeters | undefined;
  #sendOptions: SendOptions = { timeoutMs: 0, preferReply: true };

  constructor(
    readonly deps: HandlerDeps,
    readonly trigger: () => TriggerRuntime,
  ) {}

  /** The runtime's metric children and send options, made again only when the runtime object changes. */
  #metersOf(rt: TriggerRuntime): TriggerMeters {
    if (rt !== this.#rt || this.#meters === undefined) {
      this.#rt = rt;
      this.#meters = this.deps.metrics.forTrigger(labelsOf(rt));
      this.#sendOptions = { timeoutMs: rt.delivery.timeoutMs, preferReply: true };
    }
    return this.#meters;
  }

  /**
   * One async frame per event (the hot path): filter, POST, judge the answer; only a reply to store, a retry or a
   * dead letter go through further awaits.
   */
  async handle(stored: StoredEvent): Promise<HandleOutcome> {
    let rt: TriggerRuntime;
    try {
      rt = this.trigger();
    } catch (err) {
      this.deps.logger.warn(`dispatcher: no trigger for event ${stored.event.id}: ${describe(err)}; event dropped`);
      return DONE;
    }
    const metrics = this.#metersOf(rt);
    const { event, attempt } = stored;
    metrics.inFlight++;
    try {
      // Each trigger evaluates an event once: a retry already matched, and so did an event the backend filtered at
      // publish with the filter still in force. An event queued before the filter changed meets the new filter here,
      // as before publish-time filtering (the filter in force when the event is taken decides).
      if (attempt === 0 && stored.matched !== rt.filter && !this.#matches(rt, event)) {
        metrics.filtered.inc();
        return DONE;
      }
      const dest = rt.subscriberUri;
      const t0 = performance.now();
      const res = await this.deps.sender.send(dest, event, this.#sendOptions);
      metrics.duration.observe((performance.now() - t0) / 1000);
      let failure = this.#judge(rt, metrics.labels, dest, res);
      if (failure !== undefined && 'then' in failure) failure = await failure;
      if (failure === undefined) {
        metrics.delivered.inc();
        return DONE;
      }
      if (failure.retryable && attempt < rt.delivery.retry) {
        metrics.retried.inc();
        const input: Parameters<typeof retryDelayMs>[0] = { delivery: rt.delivery, retry: attempt + 1, now: this.deps.clock.now() };
        if (failure.status !== undefined) input.status = failure.status;
        if (failure.retryAfter !== undefined) input.retryAfter = failure.retryAfter;
        return { kind: 'retry', delayMs: retryDelayMs(input) };
      }
      await this.#deadLetterOrDrop(rt, metrics, event, failure, attempt + 1);
      return DONE;
    } catch (err) {
      metrics.dropped.inc();
      this.deps.logger.warn(`trigger ${rt.key}: dropped event ${stored.event.id}: unexpected error: ${describe(err)}`);
      return DONE;
    } finally {
      metrics.inFlight--;
    }
  }

  #matches(rt: TriggerRuntime, event: CloudEvent<unknown>): boolean {
    try {
      return rt.filter(event);
    } catch (err) {
      this.deps.logger.warn(`trigger ${rt.key}: filter failed on event ${event.id} (treated as no match): ${describe(err)}`);
      return false;
    }
  }

  /** What one POST's result means: undefined on success; a reply is stored first (the only asynchronous case). */
  #judge(rt: TriggerRuntime, labels: TriggerLabels, dest: string, res: SendResult): Failure | undefined | Promise<Failure | undefined> {
    if (res.kind !== 'response') return noResponseFailure(dest, res, rt.delivery.timeoutMs);
    const cls = classifyResult(res);
    if (cls !== 'success') {
      const f: Failure = { retryable: cls === 'retryable', dest, code: res.status, data: res.body, reason: `HTTP ${res.status}`, status: res.status };
      const ra = res.headers['retry-after'];
      if (ra !== undefined) f.retryAfter = ra;
      return f;
    }
    const reply = parseReply(res.headers, res.body, res.truncated);
    if (reply.kind === 'none') return undefined;
    if (reply.kind === 'invalid') {
      // The subscriber took the event (2xx): retrying would run it again and get the same answer.
      return { retryable: false, dest, code: res.status, data: res.body, reason: `HTTP ${res.status}: ${reply.reason}`, status: res.status };
    }
    return this.#storeReply(rt, labels, dest, res.status, reply.event);
  }

  async #storeReply(rt: TriggerRuntime, labels: TriggerLabels, dest: string, status: number, replyEvent: CloudEvent<unknown>): Promise<Failure | undefined> {
    const broker: BrokerRef = { namespace: rt.namespace, name: rt.broker };
    const stored = await withFewTries(this.deps, rt, async () => {
      try {
        await this.deps.publishReply(broker, replyEvent);
        return { ok: true, value: undefined };
      } catch (err) {
        return { ok: false, retryable: true, reason: describe(err) };
      }
    });
    if (stored.ok) return undefined;
    const reason = `reply event ${replyEvent.id} could not be stored in broker ${labels.broker}: ${stored.reason}`;
    return { retryable: false, dest, code: status, data: Buffer.from(reason), reason, status };
  }

  async #deadLetterOrDrop(rt: TriggerRuntime, metrics: TriggerMeters, event: CloudEvent<unknown>, failure: Failure, attempts: number): Promise<void> {
    const { logger } = this.deps;
    const what = `event ${event.id} after ${attempts} attempt(s): ${failure.reason}`;
    const dls = rt.delivery.deadLetterUri;
    if (dls === undefined) {
      metrics.dropped.inc();
      logger.warn(`trigger ${rt.key}: dropped ${what} (no dead-letter sink)`);
      return;
    }
    const ext: Record<string, string | number> = { knativeerrordest: failure.dest, knativeerrorcode: failure.code };
    if (failure.data.length > 0) ext.knativeerrordata = failure.data.subarray(0, ERROR_DATA_MAX_BYTES).toString('base64');
    let dead: CloudEvent<unknown>;
    try {
      dead = event.cloneWith(ext);
    } catch (err) {
      metrics.dropped.inc();
      logger.warn(`trigger ${rt.key}: dropped ${what}; could not add error extensions: ${describe(err)}`);
      return;
    }
    const sent = await withFewTries(this.deps, rt, async () => {
      const res = await this.deps.sender.send(dls, dead, { timeoutMs: rt.delivery.timeoutMs });
      if (res.kind !== 'response') return { ok: false, retryable: res.kind !== 'unsendable', reason: res.kind === 'timeout' ? 'timeout' : describe(res.error) };
      const cls = classifyStatus(res.status);
      if (cls === 'success') return { ok: true, value: res.status };
      return { ok: false, retryable: cls === 'retryable', reason: `HTTP ${res.status}` };
    });
    if (sent.ok) {
      metrics.deadLettered.inc();
      logger.info(`trigger ${rt.key}: dead-lettered ${what} to ${dls}`);
      return;
    }
    metrics.dropped.inc();
    logger.warn(`trigger ${rt.key}: dropped ${what}; dead-letter sink ${dls} failed too: ${sent.reason}`);
  }
}

/** The EventHandler of one trigger; `trigger()` is read at every call, so config swaps apply to the next attempt. */
export function createTriggerHandler(deps: HandlerDeps, trigger: () => TriggerRuntime): EventHandler {
  const h = new TriggerHandler(deps, trigger);
  return (stored) => h.handle(stored);
}
