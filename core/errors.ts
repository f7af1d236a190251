/**
 * Typed errors of core/, with stable codes (documented in ERROR_CODES). core/ imports nothing above it, so its
 * errors carry the same fields as src/errors.ts's WispError (`code`, `statusCode`, `retriable`, `cause`) on a
 * root of their own.
 */
export type CoreErrorCode = 'WISP_ERR_INVALID_HTTP_LIMITS';

export const ERROR_CODES: Readonly<Record<CoreErrorCode, string>> = Object.freeze({
  WISP_ERR_INVALID_HTTP_LIMITS:
    'a connection limit or header timeout given to an HTTP server is not a positive integer, or the per-client cap is over the per-port cap (500)',
});

export abstract class CoreError extends Error {
  abstract readonly code: CoreErrorCode;
  /** The HTTP status this error maps to where an edge answers with it. */
  abstract readonly statusCode: number;
  /** Whether trying the same thing again later may succeed. */
  abstract readonly retriable: boolean;

  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
  }
}

/** A server was given connection limits it cannot run with (a configuration error: fails at start). */
export class InvalidHttpLimitsError extends CoreError {
  readonly code = 'WISP_ERR_INVALID_HTTP_LIMITS' as const;
  readonly statusCode = 500;
  readonly retriable = false;
}
