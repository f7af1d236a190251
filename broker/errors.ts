/**
 * Typed errors of the broker (ingress and backends). The core throws these; only the HTTP edge (the
 * ingress's error answer) turns them into status codes, using `statusCode`.
 */
import { WispError, type WispErrorOptions } from '../src/errors.js';
export type BrokerErrorCode =
  | 'WISP_ERR_BROKER_NOT_FOUND'
  | 'WISP_ERR_BROKER_STARTING'
  | 'WISP_ERR_INVALID_EVENT'
  | 'WISP_ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'WISP_ERR_PAYLOAD_TOO_LARGE'
  | 'WISP_ERR_METHOD_NOT_ALLOWED'
  | 'WISP_ERR_BACKEND_FULL'
  | 'WISP_ERR_BATCH_TOO_LARGE'
  | 'WISP_ERR_BACKEND_CLOSED'
  | 'WISP_ERR_BACKEND_UNAVAILABLE'
  | 'WISP_ERR_HANDLER_FAILED'
  | 'WISP_ERR_INVALID_INGRESS_CONFIG';

/** Every code with what it means; a test checks each code is documented here. */
export const ERROR_CODES: Readonly<Record<BrokerErrorCode, string>> = Object.freeze({
  WISP_ERR_BROKER_NOT_FOUND: 'no broker with that namespace and name exists (or its storage was deleted) (404)',
  WISP_ERR_BROKER_STARTING: 'the platform is starting and has not yet restored its Brokers and Triggers (a broker not reconciled yet, or a Memory broker whose Triggers are not subscribed again yet); nothing was stored; retry later (503, Retry-After: 1)',
  WISP_ERR_INVALID_EVENT: 'the request is not a valid CloudEvent: unparsable body, missing or invalid attribute, bad specversion (400)',
  WISP_ERR_UNSUPPORTED_MEDIA_TYPE: 'the content mode is not supported, e.g. application/cloudevents+xml (415)',
  WISP_ERR_PAYLOAD_TOO_LARGE: 'the request body is over the ingress size limit (default 1 MiB) (413), or an event is over an attribute limit of broker/limits.ts: more than 1024 attributes or a value over 64 KiB (431 in binary mode, 413 in structured and batched mode)',
  WISP_ERR_METHOD_NOT_ALLOWED: 'the broker ingress only accepts POST (and OPTIONS) (405, Allow: POST, OPTIONS)',
  WISP_ERR_BACKEND_FULL: 'a Trigger of the broker has as many events waiting as its backlog limit (wisp.dev/max-backlog); nothing of the request was stored; retry later (503, Retry-After: 1)',
  WISP_ERR_BATCH_TOO_LARGE: 'a batch holds more events than the broker can ever take at once (its backlog limit per Trigger, or the Kafka produce queue); nothing was stored; send smaller batches (413)',
  WISP_ERR_BACKEND_CLOSED: 'the backend is closing and stores no new events; retry later (503, Retry-After: 1)',
  WISP_ERR_BACKEND_UNAVAILABLE: 'the backend store (Redis, Kafka) cannot be reached or did not acknowledge in time; retry later (503, Retry-After: 1)',
  WISP_ERR_HANDLER_FAILED: 'an event handler threw or returned an invalid outcome (a bug); the event counts as done',
  WISP_ERR_INVALID_INGRESS_CONFIG: 'an ingress option is out of range, e.g. maxBodyBytes below 64 KiB',
});

export type BrokerErrorOptions = WispErrorOptions;

export abstract class BrokerError extends WispError<BrokerErrorCode> {}

export class BrokerNotFoundError extends BrokerError {
  readonly code = 'WISP_ERR_BROKER_NOT_FOUND' as const;
  readonly statusCode = 404;
  readonly retriable = false;
  constructor(readonly namespace: string, readonly broker: string) {
    super(`broker ${namespace}/${broker} not found`);
  }
}

/**
 * The ingress listens before the stored Brokers and Triggers are reconciled (subscribed) again after a start. An
 * event accepted then would miss the Triggers not yet subscribed (Memory keeps nothing for them), so it is refused.
 */
export class BrokerStartingError extends BrokerError {
  readonly code = 'WISP_ERR_BROKER_STARTING' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  constructor() {
    super('the broker ingress is starting: Brokers and Triggers are being restored; retry in a moment');
  }
}

export class InvalidEventError extends BrokerError {
  readonly code = 'WISP_ERR_INVALID_EVENT' as const;
  readonly statusCode = 400;
  readonly retriable = false;
}

export class UnsupportedMediaTypeError extends BrokerError {
  readonly code = 'WISP_ERR_UNSUPPORTED_MEDIA_TYPE' as const;
  readonly statusCode = 415;
  readonly retriable = false;
  constructor(readonly contentType: string) {
    super(
      `unsupported content type "${contentType}": use binary mode (ce-* headers), ` +
        'application/cloudevents+json or application/cloudevents-batch+json',
    );
  }
}

export class PayloadTooLargeError extends BrokerError {
  readonly code = 'WISP_ERR_PAYLOAD_TOO_LARGE' as const;
  readonly statusCode = 413;
  readonly retriable = false;
  constructor(readonly limitBytes: number) {
    super(`request body is larger than the limit of ${limitBytes} bytes`);
  }
}

/**
 * An event breaks an attribute limit (broker/limits.ts). Same code as PayloadTooLargeError (the request is too
 * large for the broker); the status says where the attributes were: 431 for header fields (binary mode), 413
 * for the body (structured, batched).
 */
export class AttributeLimitError extends BrokerError {
  readonly code = 'WISP_ERR_PAYLOAD_TOO_LARGE' as const;
  readonly retriable = false;
  constructor(readonly statusCode: 413 | 431, reason: string) {
    super(`event too large: ${reason}`);
  }

  /** The same error for event `index` of a batch. */
  inBatch(index: number): AttributeLimitError {
    return new AttributeLimitError(this.statusCode, `batch event [${index}]: ${this.message.replace(/^event too large: /, '')}`);
  }
}

export class MethodNotAllowedError extends BrokerError {
  readonly code = 'WISP_ERR_METHOD_NOT_ALLOWED' as const;
  readonly statusCode = 405;
  readonly retriable = false;
  constructor(readonly method: string) {
    super(`method ${method} not allowed: the broker ingress accepts POST and OPTIONS`);
  }
}

export class BackendFullError extends BrokerError {
  readonly code = 'WISP_ERR_BACKEND_FULL' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  /** `waiting`: events the trigger had waiting when the publish was refused (default: `limit`). */
  constructor(readonly broker: string, readonly trigger: string, readonly limit: number, readonly waiting: number = limit) {
    super(`broker ${broker}: queue of trigger ${trigger} is full (${waiting} events waiting, limit ${limit})`);
  }
}

/** A batch larger than the broker could ever take at once: retrying cannot help, so it is not retriable. */
export class BatchTooLargeError extends BrokerError {
  readonly code = 'WISP_ERR_BATCH_TOO_LARGE' as const;
  readonly statusCode = 413;
  readonly retriable = false;
  constructor(readonly broker: string, readonly events: number, readonly limit: number, what: string) {
    super(`broker ${broker}: a batch of ${events} events is larger than ${what} (${limit} events); nothing was stored: send smaller batches`);
  }
}

export class BackendClosedError extends BrokerError {
  readonly code = 'WISP_ERR_BACKEND_CLOSED' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  constructor(readonly broker: string) {
    super(`broker ${broker}: the event backend is closed`);
  }
}

/** The backend's store (Redis, Kafka) is unreachable or did not acknowledge in time: nothing was stored. */
export class BackendUnavailableError extends BrokerError {
  readonly code = 'WISP_ERR_BACKEND_UNAVAILABLE' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  constructor(readonly broker: string, why: string, opts: BrokerErrorOptions = {}) {
    super(`broker ${broker}: the event backend is unavailable: ${why}`, opts);
  }
}

export class HandlerFailedError extends BrokerError {
  readonly code = 'WISP_ERR_HANDLER_FAILED' as const;
  readonly statusCode = 500;
  readonly retriable = false;
  constructor(readonly trigger: string, readonly eventId: string, why: string, opts: BrokerErrorOptions = {}) {
    super(`trigger ${trigger}: handler for event ${eventId} ${why}; the event counts as done`, opts);
  }
}

export class InvalidIngressConfigError extends BrokerError {
  readonly code = 'WISP_ERR_INVALID_INGRESS_CONFIG' as const;
  readonly statusCode = 500;
  readonly retriable = false;
}

/** True for an error a caller may retry later (the ingress answers 503 with Retry-After). */
export function isRetriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'retriable' in err && (err as { retriable: unknown }).retriable === true;
}
