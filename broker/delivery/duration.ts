/**
 * ISO-8601 durations as Knative's DeliverySpec accepts them (it parses with rickb777/date `period.Parse`):
 * `P[nY][nM][nW][nD][T[nH][nM][nS]]`, an optional leading sign, and decimal fractions (`.` or `,`) on any
 * component, e.g. `PT0.2S`, `PT1M`, `P1DT2H`, `-PT5S`. Pure.
 *
 * Calendar components have no fixed length; like `period.Duration()` we use the usual approximations:
 * a year is 365.2425 days, a month 30.436875 days (a twelfth of that year), a week 7 days, a day 24 hours.
 */
const PATTERN =
  /^([+-])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365.2425 * DAY;
const MONTH = YEAR / 12;
const WEEK = 7 * DAY;

/** Unit of each capture group of PATTERN, in order. */
const UNITS = [YEAR, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND] as const;

/** Milliseconds of an ISO-8601 duration, or `undefined` when `s` is not one. Negative durations parse (validation decides). */
export function parseIsoDuration(s: string): number | undefined {
  const m = PATTERN.exec(s.trim());
  if (m === null) return undefined;
  // `P` and `PT` alone, or a trailing `T` with nothing after it, are not durations.
  if (/T$/.test(s.trim())) return undefined;
  let ms = 0;
  let any = false;
  for (let i = 0; i < UNITS.length; i++) {
    const v = m[i + 2];
    if (v === undefined) continue;
    any = true;
    ms += Number(v.replace(',', '.')) * (UNITS[i] ?? 0);
  }
  if (!any) return undefined;
  ms = Math.round(ms * 1000) / 1000;
  return m[1] === '-' && ms !== 0 ? -ms : ms;
}
