/** Parsers for Knative's string values (Go's strconv and time.ParseDuration rules). Each returns a value or a reason. */
import { parseGoDuration } from './duration.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INT = /^[+-]?\d+$/;

/** Go's `strconv.ParseBool`. */
export function parseBool(raw: string): Parsed<boolean> {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return { ok: true, value: true };
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return { ok: true, value: false };
  return { ok: false, message: `invalid boolean ${JSON.stringify(raw)}` };
}

/** Go's `strconv.ParseFloat` for decimal notation. */
export function parseFloat64(raw: string): Parsed<number> {
  const value = Number(raw);
  if (!FLOAT.test(raw) || !Number.isFinite(value)) return { ok: false, message: `invalid number ${JSON.stringify(raw)}` };
  return { ok: true, value };
}

/** Go's `strconv.ParseInt(raw, 10, 32)`; out of range is reported with Knative's bounds message. */
export function parseInt32(raw: string, lower = -2_147_483_648): Parsed<number> {
  if (!INT.test(raw)) return { ok: false, message: `invalid integer ${JSON.stringify(raw)}` };
  const value = Number(raw);
  if (value < -2_147_483_648 || value > 2_147_483_647) return { ok: false, message: `expected ${lower} <= ${raw} <= 2147483647` };
  return { ok: true, value };
}

export function parseDuration(raw: string): Parsed<number> {
  const value = parseGoDuration(raw);
  return value === undefined ? { ok: false, message: `invalid duration ${JSON.stringify(raw)}` } : { ok: true, value };
}

/** Whole seconds only (Knative: "must be specified with at most second precision"). */
export function isWholeSeconds(ms: number): boolean {
  return Number.isInteger(ms / 1000);
}
