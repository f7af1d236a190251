/**
 * Delivery defaults, in one place.
 *
 * retry / backoffPolicy / backoffDelay: Knative's default broker config, `config-br-defaults`
 * (knative/eventing config/core/configmaps/default-broker.yaml, `clusterDefault.delivery`:
 * `retry: 10`, `backoffPolicy: exponential`, `backoffDelay: PT0.2S`).
 *
 * timeout: Knative sets no per-request timeout by default (its dispatcher's http.Client has none); Wisp
 * bounds every outbound call (STYLE.md rule 11), so an attempt that has not finished in 30 s fails as a
 * timeout (and is retried).
 *
 * retryAfterMax: Knative only honours `Retry-After` when `retryAfterMax` is set (feature
 * `delivery-retryafter`, opt-in while alpha, planned opt-out when GA). Wisp honours it by default, capped at
 * 60 s; `PT0S` opts out, as in Knative.
 */
export const DEFAULT_RETRY = 10;
export const DEFAULT_BACKOFF_POLICY = 'exponential' as const;
export const DEFAULT_BACKOFF_DELAY = 'PT0.2S';
export const DEFAULT_BACKOFF_DELAY_MS = 200;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRY_AFTER_MAX_MS = 60_000;

/** Largest delay a timer can hold (2^31 - 1 ms, about 24.8 days); longer backoffs are clamped to it. */
export const MAX_DELAY_MS = 2_147_483_647;
/** Bytes of a response the sender reads; the rest is discarded. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Bytes of the failed response put (base64) into `knativeerrordata`. */
export const ERROR_DATA_MAX_BYTES = 1024;
/** Attempts at the dead-letter sink (and at storing a reply) before the event is dropped. */
export const DEAD_LETTER_ATTEMPTS = 3;
