/** RFC 3339 timestamps: range checks shared by the ingress's fast event builder and delivery. Pure. */

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digits = (s: string, from: number, n: number): number => Number(s.slice(from, from + n));

/**
 * True when the SDK's date-time format surely accepts `time`, which has already been matched against
 * `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`: the date exists (leap years per RFC 3339 appendix C) and the time is at
 * most 23:59:59. False sends the event to the SDK (e.g. a leap second, which it judges itself).
 */
export function surelyValidTime(time: string): boolean {
  const year = digits(time, 0, 4);
  const month = digits(time, 5, 2);
  const day = digits(time, 8, 2);
  if (!(month >= 1 && month <= 12 && day >= 1)) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month] ?? 0))) return false;
  return digits(time, 11, 2) <= 23 && digits(time, 14, 2) <= 59 && digits(time, 17, 2) <= 59;
}

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * `new Date(time).toISOString()`, the form the SDK writes `time` in, without the Date round trip when `time` is
 * already in that form (an event without its own `time` got one from `toISOString()`).
 */
export function isoTime(time: string): string {
  return CANONICAL.test(time) && surelyValidTime(time) ? time : new Date(time).toISOString();
}
