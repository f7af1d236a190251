/** Typed errors of core/, with stable codes (documented in ERROR_CODES), on the one WispError root. */
import { WispError } from './wisp-error.js';

export type CoreErrorCode = 'WISP_ERR_INVALID_HTTP_LIMITS';

export const ERROR_CODES: Readonly<Record<CoreErrorCode, string>> = Object.freeze({
  WISP_ERR_INVALID_HTTP_LIMITS:
    'a connection limit or header timeout given to an HTTP server is not a positive integer, or the per-client cap is over the per-port cap (500)',
});

export abstract class CoreError extends WispError<CoreErrorCode> {}

/** A server was given connection limits it cannot run with (a configuration error: fails at start). */
export class InvalidHttpLimitsError extends CoreError {
  readonly code = 'WISP_ERR_INVALID_HTTP_LIMITS' as const;
  readonly statusCode = 500;
  readonly retriable = false;
}
