/**
 * Retry delays. Pure: `now` is an argument.
 *
 * The k-th retry (k = 1..retry) waits `backoffDelay × 2^k` (exponential) or `backoffDelay × k` (linear), as
 * DESIGN §4 and Knative's DeliverySpec documentation say. Knative's code passes go-retryablehttp's
 * zero-based attempt number instead, so there the first retry waits `backoffDelay` (exponential) or 0
 * (linear); Wisp follows DESIGN.
 *
 * `Retry-After` on 429 and 503 (delta-seconds or an HTTP-date relative to `now`) is capped by
 * `retryAfterMax` and, like Knative's generateBackoffFn (pkg/kncloudevents/retries.go), the larger of it and
 * the backoff is used. `retryAfterMax` = 0 ignores `Retry-After` (Knative's `PT0S` opt-out).
 */
import type { ResolvedDelivery } from '../types.js';
import { MAX_DELAY_MS } from './defaults.js';

/** The policy's delay before retry number `k` (1-based), clamped to what a timer can hold. */
export function backoffDelayMs(delivery: Pick<ResolvedDelivery, 'backoffPolicy' | 'backoffDelayMs'>, k: number): number {
  const n = Math.max(1, Math.floor(k));
  const factor = delivery.backoffPolicy === 'exponential' ? 2 ** n : n;
  const ms = delivery.backoffDelayMs * factor;
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_DELAY_MS) : MAX_DELAY_MS;
}

/**
 * Milliseconds a `Retry-After` value asks for: delta-seconds (`120`) or an HTTP-date, relative to `now`.
 * A date in the past gives 0; an unparsable value gives undefined.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-date (IMF-fixdate, RFC 850 or asctime): must name a weekday, so plain numbers never get here.
  if (!/^[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

export interface RetryDelayInput {
  delivery: Pick<ResolvedDelivery, 'backoffPolicy' | 'backoffDelayMs' | 'retryAfterMaxMs'>;
  /** 1-based number of the retry about to be scheduled. */
  retry: number;
  /** Status of the failed attempt, if it got a response. */
  status?: number;
  /** Its `Retry-After` header, if any. */
  retryAfter?: string;
  now: number;
}

/** The delay before the next attempt: max(backoff, min(Retry-After, retryAfterMax)) for 429/503, else the backoff. */
export function retryDelayMs(input: RetryDelayInput): number {
  const backoff = backoffDelayMs(input.delivery, input.retry);
  if (input.status !== 429 && input.status !== 503) return backoff;
  if (input.delivery.retryAfterMaxMs <= 0) return backoff;
  const asked = parseRetryAfter(input.retryAfter, input.now);
  if (asked === undefined) return backoff;
  const honoured = Math.min(asked, input.delivery.retryAfterMaxMs, MAX_DELAY_MS);
  return Math.max(backoff, honoured);
}
