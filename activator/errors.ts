/**
 * Typed errors of the activator. The core (throttler, breaker, router) throws these; only the HTTP
 * adapter (server.ts) turns them into status codes, using `statusCode`.
 */
import { WispError, type WispErrorOptions } from '../src/errors.js';
export type ActivatorErrorCode =
  | 'WISP_ERR_QUEUE_FULL'
  | 'WISP_ERR_QUEUE_TIMEOUT'
  | 'WISP_ERR_RESPONSE_TIMEOUT'
  | 'WISP_ERR_REVISION_FAILED'
  | 'WISP_ERR_REVISION_REMOVED'
  | 'WISP_ERR_UPSTREAM'
  | 'WISP_ERR_REQUEST_ABORTED'
  | 'WISP_ERR_INVALID_TRANSITION'
  | 'WISP_ERR_SHUTTING_DOWN';

/** Every code with what it means; a test checks each code is documented here. */
export const ERROR_CODES: Readonly<Record<ActivatorErrorCode, string>> = Object.freeze({
  WISP_ERR_QUEUE_FULL: 'the revision queue is at its depth limit (503, Retry-After: 1)',
  WISP_ERR_QUEUE_TIMEOUT: 'the request waited in the queue longer than the revision timeoutSeconds (503)',
  WISP_ERR_RESPONSE_TIMEOUT: 'the replica sent no response headers within the remaining timeoutSeconds (504)',
  WISP_ERR_REVISION_FAILED: 'the revision cannot start (bad command, crash loop, image only) (503)',
  WISP_ERR_REVISION_REMOVED: 'the revision was removed while the request waited (503)',
  WISP_ERR_UPSTREAM: 'the connection to the replica failed (502)',
  WISP_ERR_REQUEST_ABORTED: 'the client went away before the request was dispatched',
  WISP_ERR_INVALID_TRANSITION: 'a buffered request was moved to a state it cannot reach from its current one (bug)',
  WISP_ERR_SHUTTING_DOWN: 'the activator is closing and accepts no new requests (503)',
});

export type ActivatorErrorOptions = WispErrorOptions;

export abstract class ActivatorError extends WispError<ActivatorErrorCode> {}

export class QueueFullError extends ActivatorError {
  readonly code = 'WISP_ERR_QUEUE_FULL' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  constructor(readonly revision: string, readonly depth: number) {
    super(`revision ${revision}: request queue is full (${depth} waiting)`);
  }
}

export class QueueTimeoutError extends ActivatorError {
  readonly code = 'WISP_ERR_QUEUE_TIMEOUT' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  constructor(readonly revision: string, readonly waitedMs: number) {
    super(`revision ${revision}: no replica became available within ${waitedMs} ms (timeoutSeconds)`);
  }
}

export class ResponseTimeoutError extends ActivatorError {
  readonly code = 'WISP_ERR_RESPONSE_TIMEOUT' as const;
  readonly statusCode = 504;
  readonly retriable = false;
  constructor(readonly revision: string, readonly timeoutMs: number, opts: ActivatorErrorOptions = {}) {
    super(`revision ${revision}: replica sent no response within ${timeoutMs} ms (timeoutSeconds)`, opts);
  }
}

export class RevisionFailedError extends ActivatorError {
  readonly code = 'WISP_ERR_REVISION_FAILED' as const;
  readonly statusCode = 503;
  readonly retriable = false;
  constructor(readonly revision: string, readonly reason: string, readonly detail: string) {
    super(`revision ${revision} cannot start: ${reason}: ${detail}`);
  }
}

export class RevisionRemovedError extends ActivatorError {
  readonly code = 'WISP_ERR_REVISION_REMOVED' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  constructor(readonly revision: string) {
    super(`revision ${revision} was removed while the request waited`);
  }
}

export class UpstreamError extends ActivatorError {
  readonly code = 'WISP_ERR_UPSTREAM' as const;
  readonly statusCode = 502;
  readonly retriable = true;
  constructor(readonly revision: string, readonly replica: string, opts: ActivatorErrorOptions = {}) {
    const why = opts.cause instanceof Error ? opts.cause.message : String(opts.cause ?? 'unknown error');
    super(`revision ${revision}: replica ${replica} failed: ${why}`, opts);
  }
}

export class RequestAbortedError extends ActivatorError {
  readonly code = 'WISP_ERR_REQUEST_ABORTED' as const;
  readonly statusCode = 499;
  readonly retriable = false;
  constructor(readonly revision: string) {
    super(`revision ${revision}: client aborted the request`);
  }
}

export class InvalidTransitionError extends ActivatorError {
  readonly code = 'WISP_ERR_INVALID_TRANSITION' as const;
  readonly statusCode = 500;
  readonly retriable = false;
  constructor(readonly from: string, readonly to: string) {
    super(`buffered request cannot move from ${from} to ${to}`);
  }
}

export class ShuttingDownError extends ActivatorError {
  readonly code = 'WISP_ERR_SHUTTING_DOWN' as const;
  readonly statusCode = 503;
  readonly retriable = true;
  constructor() {
    super('activator is shutting down');
  }
}
