/**
 * One event to a source's sink through a Sender, retried with exponential back-off on retryable failures. Shared by
 * every importer's runner: the runner supplies its label, policy, whether it still runs and how it waits (on its Clock,
 * cancellable by stop()); the result says what happened, and the runner reports it.
 */
import { backoffDelayMs, classifyResult, type SendResult, type Sender } from '../../broker/delivery/index.js';
import { SourceDeliveryError } from './errors.js';

/** The part of a source's delivery policy the retrying send uses. */
export interface SinkRetryPolicy {
  /** Retries after the first attempt. */
  retry: number;
  /** Base of the exponential back-off (k-th retry waits base × 2^k). */
  backoffDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

/** What became of one event: delivered, or given up on (`stopped`: abandoned because the source stopped). */
export type SinkDeliveryResult =
  | { kind: 'delivered'; attempts: number; status: number }
  | { kind: 'failed'; attempts: number; error: SourceDeliveryError; stopped: boolean };

export interface DeliverToSinkOptions {
  sender: Sender;
  sinkUri: string;
  event: Parameters<Sender['send']>[1];
  policy: SinkRetryPolicy;
  /** Names the source in errors, e.g. `PingSource default/every-minute`. */
  label: string;
  /** Whether the source still runs: a stopped source's event is not retried. */
  isRunning: () => boolean;
  /** Resolves true after `ms`, or false when the source stops meanwhile. */
  wait: (ms: number) => Promise<boolean>;
}

function describeFailure(r: SendResult): string {
  if (r.kind === 'response') return `HTTP ${r.status}`;
  if (r.kind === 'timeout') return 'timed out';
  return r.error.message;
}

/** Sends `event` to the sink, retrying retryable failures per `policy` while the source runs. */
export async function deliverToSink(o: DeliverToSinkOptions): Promise<SinkDeliveryResult> {
  const attemptsAllowed = o.policy.retry + 1;
  const failed = (attempts: number, result: SendResult, retriable: boolean, stopped: boolean): SinkDeliveryResult => ({
    kind: 'failed',
    attempts,
    stopped,
    error: new SourceDeliveryError({
      source: o.label,
      sinkUri: o.sinkUri,
      attempts,
      why: stopped && retriable ? `${describeFailure(result)} (source stopped)` : describeFailure(result),
      retriable,
      ...(result.kind === 'network-error' ? { cause: result.error } : {}),
    }),
  });
  for (let attempt = 1; ; attempt++) {
    let result: SendResult;
    try {
      result = await o.sender.send(o.sinkUri, o.event, { timeoutMs: o.policy.timeoutMs });
    } catch (err) {
      result = { kind: 'network-error', error: err instanceof Error ? err : new Error(String(err)) };
    }
    const cls = classifyResult(result);
    if (cls === 'success' && result.kind === 'response') return { kind: 'delivered', attempts: attempt, status: result.status };
    const stopped = !o.isRunning();
    if (cls === 'permanent' || attempt >= attemptsAllowed || stopped) return failed(attempt, result, cls === 'retryable', stopped);
    const delay = backoffDelayMs({ backoffPolicy: 'exponential', backoffDelayMs: o.policy.backoffDelayMs }, attempt);
    if (!(await o.wait(delay))) return failed(attempt, result, true, true);
  }
}
