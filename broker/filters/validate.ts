/**
 * Validation of a Trigger's `filter` and `filters`, run when the Trigger is applied (Knative's webhook:
 * `validateFilterSpec`, `ValidateSubscriptionAPIFiltersList`, plus Wisp's stricter rules: exactly one
 * dialect per element, non-empty prefix/suffix values, non-empty all/any). Takes `unknown`: it checks
 * shapes too. Returns every problem, each with its field path. Nesting is limited (INPUT_LIMITS.maxFilterDepth):
 * the check recurses once per level, so deeper filters are refused before they could overflow the stack.
 */
import { INPUT_LIMITS } from '../../src/api/limits.js';
import { CesqlParseError, parseCesql } from '../cesql/index.js';
import { filterDepthMessage } from './errors.js';

export interface FilterFieldError {
  field: string;
  message: string;
}

/** Knative's rule for attribute names in filters: lower-case alphanumerics, starting with a letter. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function badName(key: string): string {
  return `invalid attribute name "${key}": must start with a lower-case letter and contain only lower-case letters and digits`;
}

function validateAttributeMap(
  map: unknown,
  field: string,
  opts: { single: boolean; nonEmptyValues: boolean },
): FilterFieldError[] {
  if (!isObject(map)) return [{ field, message: `must be a map of attribute names to strings, got ${describe(map)}` }];
  const errs: FilterFieldError[] = [];
  const keys = Object.keys(map);
  if (opts.single && keys.length !== 1) {
    errs.push({ field, message: `must have exactly one attribute, found ${keys.length}` });
  }
  for (const key of keys) {
    if (!ATTRIBUTE_NAME.test(key)) errs.push({ field, message: badName(key) });
    const value = map[key];
    if (typeof value !== 'string') {
      errs.push({ field, message: `value of "${key}" must be a string, got ${describe(value)}` });
    } else if (opts.nonEmptyValues && value === '') {
      errs.push({ field, message: `value of "${key}" must not be empty` });
    }
  }
  return errs;
}

export interface FilterValidationOptions {
  /** Deepest nesting of all/any/not accepted; default INPUT_LIMITS.maxFilterDepth. */
  maxDepth?: number;
}

function validateList(list: unknown, field: string, depth: number, maxDepth: number): FilterFieldError[] {
  if (!Array.isArray(list)) return [{ field, message: `must be a list of filters, got ${describe(list)}` }];
  if (list.length === 0) return [{ field, message: 'must contain at least one filter' }];
  return list.flatMap((f, i) => validateAt(f, `${field}[${i}]`, depth, maxDepth));
}

/** One element of `filters` (or of a nested `all`/`any`, or a `not`) at `path`; a top-level element is depth 1. */
export function validateSubscriptionsAPIFilter(filter: unknown, path: string, opts: FilterValidationOptions = {}): FilterFieldError[] {
  return validateAt(filter, path, 1, opts.maxDepth ?? INPUT_LIMITS.maxFilterDepth);
}

function validateAt(filter: unknown, path: string, depth: number, maxDepth: number): FilterFieldError[] {
  if (depth > maxDepth) return [{ field: path, message: filterDepthMessage(maxDepth) }];
  if (!isObject(filter)) return [{ field: path, message: `must be a filter object, got ${describe(filter)}` }];
  const set = DIALECTS.filter((d) => filter[d] !== undefined && filter[d] !== null);
  if (set.length !== 1) {
    return [
      {
        field: path,
        message: `exactly one of ${DIALECTS.join(', ')} must be set, found ${set.length === 0 ? 'none' : set.join(', ')}`,
      },
    ];
  }
  const dialect = set[0] as (typeof DIALECTS)[number];
  const value = filter[dialect];
  const field = `${path}.${dialect}`;
  switch (dialect) {
    case 'exact':
      return validateAttributeMap(value, field, { single: true, nonEmptyValues: false });
    case 'prefix':
    case 'suffix':
      return validateAttributeMap(value, field, { single: true, nonEmptyValues: true });
    case 'all':
    case 'any':
      return validateList(value, field, depth + 1, maxDepth);
    case 'not':
      return validateAt(value, field, depth + 1, maxDepth);
    case 'cesql':
      if (typeof value !== 'string') return [{ field, message: `must be a string, got ${describe(value)}` }];
      if (value.trim() === '') return [{ field, message: 'must not be empty' }];
      try {
        parseCesql(value);
        return [];
      } catch (err) {
        if (err instanceof CesqlParseError) return [{ field, message: err.message }];
        throw err;
      }
  }
}

/** Problems with a Trigger spec's `filter` and `filters`, with paths under `basePath` (`spec.filters[1].cesql`). */
export function validateTriggerFilters(spec: unknown, basePath = 'spec', opts: FilterValidationOptions = {}): FilterFieldError[] {
  if (!isObject(spec)) return [];
  const errs: FilterFieldError[] = [];
  const filter = spec['filter'];
  if (filter !== undefined && filter !== null) {
    if (!isObject(filter)) {
      errs.push({ field: `${basePath}.filter`, message: `must be an object, got ${describe(filter)}` });
    } else if (filter['attributes'] !== undefined && filter['attributes'] !== null) {
      errs.push(...validateAttributeMap(filter['attributes'], `${basePath}.filter.attributes`, { single: false, nonEmptyValues: false }));
    }
  }
  const filters = spec['filters'];
  if (filters !== undefined && filters !== null) {
    if (!Array.isArray(filters)) {
      errs.push({ field: `${basePath}.filters`, message: `must be a list of filters, got ${describe(filters)}` });
    } else {
      filters.forEach((f, i) => errs.push(...validateSubscriptionsAPIFilter(f, `${basePath}.filters[${i}]`, opts)));
    }
  }
  return errs;
}
