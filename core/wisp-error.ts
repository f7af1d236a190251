/**
 * The base of every typed Wisp error, in the kernel so that every component (core/ included) extends the one root.
 * Each component declares its own subclass and codes in its `errors.ts` (`WISP_ERR_*`, documented in its
 * ERROR_CODES); errors become HTTP statuses only at the edge that serves them.
 */
export interface WispErrorOptions {
  cause?: unknown;
}

export abstract class WispError<Code extends string = string> extends Error {
  abstract readonly code: Code;
  /** The HTTP status this error maps to where an edge answers with it. */
  abstract readonly statusCode: number;
  /** Whether trying the same thing again later may succeed. */
  abstract readonly retriable: boolean;

  constructor(message: string, opts: WispErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
  }
}
