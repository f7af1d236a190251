/** Typed errors of the importers (sources). Reported through `onError`; they never become HTTP statuses here. */
import { WispError } from '../errors.js';

export const IMPORTER_ERROR_CODES = Object.freeze({
  WISP_ERR_SOURCE_DELIVERY: 'A source could not deliver an event to its sink: every attempt failed, or the sink answered with a permanent error.',
  WISP_ERR_SOURCE_OVERLOADED: 'A source skipped an event because too many of its earlier events were still being delivered to a slow sink.',
  WISP_ERR_SOURCE_SCHEDULE: 'A PingSource schedule or time zone could not be evaluated.',
} as const);

export type ImporterErrorCode = keyof typeof IMPORTER_ERROR_CODES;

/** An event a source gave up on. `retriable`: the sink may take later events (it failed transiently). */
export class SourceDeliveryError extends WispError<'WISP_ERR_SOURCE_DELIVERY'> {
  readonly code = 'WISP_ERR_SOURCE_DELIVERY';
  readonly statusCode = 502;
  readonly retriable: boolean;
  readonly source: string;
  readonly sinkUri: string;
  readonly attempts: number;

  constructor(opts: { source: string; sinkUri: string; attempts: number; why: string; retriable: boolean; cause?: unknown }) {
    super(`${opts.source}: event not delivered to ${opts.sinkUri} after ${opts.attempts} attempt(s): ${opts.why}`, { cause: opts.cause });
    this.retriable = opts.retriable;
    this.source = opts.source;
    this.sinkUri = opts.sinkUri;
    this.attempts = opts.attempts;
  }
}

/** A tick dropped because `maxInFlight` deliveries of the same source were still running. */
export class SourceOverloadedError extends WispError<'WISP_ERR_SOURCE_OVERLOADED'> {
  readonly code = 'WISP_ERR_SOURCE_OVERLOADED';
  readonly statusCode = 503;
  readonly retriable = true;
  readonly source: string;

  constructor(opts: { source: string; inFlight: number }) {
    super(`${opts.source}: event skipped: ${opts.inFlight} earlier event(s) still being delivered to a slow sink`);
    this.source = opts.source;
  }
}

/** A schedule that cannot be evaluated (invalid cron or time zone). */
export class ScheduleError extends WispError<'WISP_ERR_SOURCE_SCHEDULE'> {
  readonly code = 'WISP_ERR_SOURCE_SCHEDULE';
  readonly statusCode = 400;
  readonly retriable = false;

  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts);
  }
}
