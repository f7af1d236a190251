/** Typed errors of the store, admission and control API. The API's error handler maps them to Kubernetes `Status` objects. */
import type { FieldError } from '../api/errors.js';

/** Kubernetes `Status.reason` values the control API uses. */
export type StatusReason =
  | 'Invalid'
  | 'NotFound'
  | 'AlreadyExists'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'Unauthorized'
  | 'Forbidden';

export interface ControlErrorOptions {
  message: string;
  /** The object's Kind (or plural for unknown paths). */
  kind?: string;
  name?: string;
  causes?: FieldError[];
  cause?: unknown;
}

export abstract class ControlError extends Error {
  abstract readonly code: string;
  abstract readonly statusCode: number;
  abstract readonly reason: StatusReason;
  readonly retriable: boolean = false;
  readonly kind: string | undefined;
  readonly objectName: string | undefined;
  readonly causes: FieldError[];

  constructor(opts: ControlErrorOptions) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.kind = opts.kind;
    this.objectName = opts.name;
    this.causes = opts.causes ?? [];
  }
}

export class NotFoundError extends ControlError {
  readonly code = 'WISP_ERR_NOT_FOUND';
  readonly statusCode = 404;
  readonly reason = 'NotFound';
}

export class AlreadyExistsError extends ControlError {
  readonly code = 'WISP_ERR_ALREADY_EXISTS';
  readonly statusCode = 409;
  readonly reason = 'AlreadyExists';
}

export class InvalidError extends ControlError {
  readonly code = 'WISP_ERR_INVALID';
  readonly statusCode = 422;
  readonly reason = 'Invalid';
}

export class BadRequestError extends ControlError {
  readonly code = 'WISP_ERR_BAD_REQUEST';
  readonly statusCode = 400;
  readonly reason = 'BadRequest';
}

export class MethodNotAllowedError extends ControlError {
  readonly code = 'WISP_ERR_METHOD_NOT_ALLOWED';
  readonly statusCode = 405;
  readonly reason = 'MethodNotAllowed';
}

export class UnsupportedMediaTypeError extends ControlError {
  readonly code = 'WISP_ERR_UNSUPPORTED_MEDIA_TYPE';
  readonly statusCode = 415;
  readonly reason = 'UnsupportedMediaType';
}

/** A control API request without a valid bearer token (missing header, not Bearer, or the wrong token). */
export class UnauthorizedError extends ControlError {
  readonly code = 'WISP_ERR_UNAUTHORIZED';
  readonly statusCode = 401;
  readonly reason = 'Unauthorized';
}

/** A request to a loopback-bound control API whose `Host` is not a loopback name or address (DNS rebinding). */
export class HostNotAllowedError extends ControlError {
  readonly code = 'WISP_ERR_HOST_NOT_ALLOWED';
  readonly statusCode = 403;
  readonly reason = 'Forbidden';
}

/** The control API's token file cannot be used: unreadable, readable by others, or not one token. The platform refuses to start. */
export class TokenFileError extends ControlError {
  readonly code = 'WISP_ERR_TOKEN_FILE';
  readonly statusCode = 500;
  readonly reason = 'InternalError';
  readonly file: string;

  constructor(opts: ControlErrorOptions & { file: string }) {
    super(opts);
    this.file = opts.file;
  }
}

/** The state file exists but cannot be parsed: the platform refuses to start rather than start empty. */
export class StoreCorruptError extends ControlError {
  readonly code = 'WISP_ERR_STORE_CORRUPT';
  readonly statusCode = 500;
  readonly reason = 'InternalError';
  readonly file: string;

  constructor(opts: ControlErrorOptions & { file: string }) {
    super(opts);
    this.file = opts.file;
  }
}

/** Every code this component throws, documented (a test checks the list is complete). */
export const CONTROL_ERROR_CODES: Readonly<Record<string, string>> = Object.freeze({
  WISP_ERR_NOT_FOUND: 'The object, kind or path does not exist.',
  WISP_ERR_ALREADY_EXISTS: 'Create of an object that already exists.',
  WISP_ERR_INVALID: 'The object failed validation or admission; causes name every field.',
  WISP_ERR_BAD_REQUEST: 'Malformed body, or a body that does not match the URL.',
  WISP_ERR_METHOD_NOT_ALLOWED: 'The method is not allowed for this kind (platform-owned kinds cannot be applied).',
  WISP_ERR_UNSUPPORTED_MEDIA_TYPE: 'The body is neither application/json nor application/yaml.',
  WISP_ERR_STORE_CORRUPT: 'The persisted state file cannot be parsed.',
  WISP_ERR_UNAUTHORIZED: 'A control API request without a valid bearer token (Authorization: Bearer <token>).',
  WISP_ERR_HOST_NOT_ALLOWED: 'A request to a loopback-bound control API with a Host that is not a loopback name or address.',
  WISP_ERR_TOKEN_FILE: 'The control API token file is unreadable, readable by group or others, or does not hold one token.',
});
