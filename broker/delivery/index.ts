/** Event delivery: DeliverySpec rules and defaults, backoff, result classification, the HTTP sender. */
export { parseIsoDuration } from './duration.js';
export { validateDeliverySpec, validateDestination, resolveDelivery, effectiveDelivery } from './spec.js';
export type { FieldIssue } from './spec.js';
export { backoffDelayMs, parseRetryAfter, retryDelayMs } from './backoff.js';
export type { RetryDelayInput } from './backoff.js';
export { classifyStatus, classifyResult } from './classify.js';
export type { AttemptClass } from './classify.js';
export { HttpSender, isLoopbackName, loopbackAwareLookup } from './sender.js';
export type { HttpSenderOptions } from './sender.js';
export type { Sender, SendOptions, SendResult } from './types.js';
export {
  DEFAULT_RETRY,
  DEFAULT_BACKOFF_POLICY,
  DEFAULT_BACKOFF_DELAY,
  DEFAULT_BACKOFF_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_RETRY_AFTER_MAX_MS,
  MAX_DELAY_MS,
  MAX_RESPONSE_BYTES,
  ERROR_DATA_MAX_BYTES,
  DEAD_LETTER_ATTEMPTS,
} from './defaults.js';
export { ERROR_CODES, DeliveryError, InvalidDeliveryError, DispatcherClosedError } from './errors.js';
export type { DeliveryErrorCode, DeliveryErrorOptions } from './errors.js';
