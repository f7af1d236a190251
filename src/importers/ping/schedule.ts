/**
 * PingSource schedules: cron with an optional seconds field, evaluated in an IANA time zone (croner). Pure: the
 * instant to start from is an argument.
 */
import { Cron } from 'croner';

/** Zone used when a PingSource names none (Knative's adapter uses the system zone; Wisp is explicit). */
export const DEFAULT_TIMEZONE = 'UTC';

function cronOf(schedule: string, timezone: string | undefined): Cron {
  // 5 fields (minute precision) or 6 (a leading seconds field); standard cron's OR between day-of-month and day-of-week.
  return new Cron(schedule, { paused: true, timezone: timezone ?? DEFAULT_TIMEZONE, mode: '5-or-6-parts', domAndDow: false });
}

function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^CronPattern:\s*/, '');
}

/** Why `schedule` is not a valid cron schedule, or undefined when it is. */
export function scheduleProblem(schedule: string): string | undefined {
  try {
    cronOf(schedule, DEFAULT_TIMEZONE);
    return undefined;
  } catch (err) {
    return reasonOf(err);
  }
}

/** Is `timezone` a time zone name the runtime's IANA database knows (e.g. `Europe/Oslo`, `UTC`)? */
export function isKnownTimeZone(timezone: string): boolean {
  if (timezone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first fire time of `schedule` in `timezone` strictly after `after` (ms since epoch), in ms since epoch;
 * undefined when the schedule never fires again (e.g. `0 0 31 2 *`). Throws on an invalid schedule or zone
 * (admission rejects both).
 */
export function nextFire(schedule: string, timezone: string | undefined, after: number): number | undefined {
  const next = cronOf(schedule, timezone).nextRun(new Date(after));
  return next === null ? undefined : next.getTime();
}
