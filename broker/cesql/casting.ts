/** CESQL casts (v1.0 §3.7). Each returns undefined when the cast fails; the caller reports the error. */
import type { CesqlValue } from './ast.js';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

const INTEGER_TEXT = /^[+-]?[0-9]+$/;

export function castToInteger(v: CesqlValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (!INTEGER_TEXT.test(v)) return undefined;
  const n = Number(v);
  return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
}

/**
 * String → Boolean accepts `true`/`false` in any case. Integer → Boolean is the explicit `BOOL(x)`
 * cast only (0 is false, anything else true); used implicitly (e.g. `NOT 10`) it is a cast error.
 */
export function castToBoolean(v: CesqlValue, explicit: boolean): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return explicit ? v !== 0 : undefined;
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return undefined;
}

export function castToString(v: CesqlValue): string {
  if (typeof v === 'string') return v;
  return String(v);
}
