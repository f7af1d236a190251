/**
 * Typed errors of event delivery. The pure modules (spec, duration) throw these; nothing here maps them to
 * HTTP status codes (that happens at an edge, if ever).
 */
export type DeliveryErrorCode = 'WISP_ERR_INVALID_DELIVERY' | 'WISP_ERR_DISPATCHER_CLOSED';

/** Every code with what it means; a test checks each code is documented here. */
export const ERROR_CODES: Readonly<Record<DeliveryErrorCode, string>> = Object.freeze({
  WISP_ERR_INVALID_DELIVERY: 'a DeliverySpec field has a value Knative would reject (bad ISO-8601 duration, negative retry, unknown backoffPolicy) (400)',
  WISP_ERR_DISPATCHER_CLOSED: 'the dispatcher is closed and takes no new triggers (503)',
});

export interface DeliveryErrorOptions {
  cause?: unknown;
}

export class DeliveryError extends Error {
  readonly code: DeliveryErrorCode;
  readonly statusCode: number;
  readonly retriable: boolean;

  constructor(code: DeliveryErrorCode, message: string, statusCode: number, retriable: boolean, opts: DeliveryErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
    this.retriable = retriable;
  }
}

/** A DeliverySpec that validation would have rejected reached `resolveDelivery`. */
export class InvalidDeliveryError extends DeliveryError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super('WISP_ERR_INVALID_DELIVERY', `${field}: ${reason}`, 400, false);
  }
}

export class DispatcherClosedError extends DeliveryError {
  constructor() {
    super('WISP_ERR_DISPATCHER_CLOSED', 'dispatcher is closed: no trigger can be added', 503, false);
  }
}
