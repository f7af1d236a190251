/**
 * Compiles a Trigger's `filter` / `filters` into one predicate (Knative's eventfilter semantics):
 * - `filters` (when non-empty) replaces `filter`; its elements are ANDed;
 * - `filter.attributes`: every named attribute present and equal (case-sensitive); "" matches any value;
 * - `exact` / `prefix` / `suffix`: every key matches; an absent attribute is no match;
 * - `all` / `any` / `not` nest; `cesql` is parsed here, once, and passes only on `true` with no errors;
 * - no filter at all matches every event. The predicate never throws: a failure is "no match".
 * Nesting deeper than INPUT_LIMITS.maxFilterDepth throws `FilterTooDeepError` (the compiler and the predicate
 * recurse once per level).
 */
import type { CloudEvent } from 'cloudevents';
import { INPUT_LIMITS } from '../../src/api/limits.js';
import { cesqlMatches, parseCesql } from '../cesql/index.js';
import type { EventFilter, SubscriptionsAPIFilter } from '../types.js';
import { asRecord, attributeString, CONTEXT_ATTRIBUTES, type EventRecord } from './attributes.js';
import { FilterTooDeepError } from './errors.js';

type Predicate = (event: EventRecord) => boolean;

export interface TriggerFilterSpec {
  filter?: { attributes?: Record<string, string> };
  filters?: SubscriptionsAPIFilter[];
}

export interface CompileOptions {
  /** Deepest nesting of all/any/not accepted; default INPUT_LIMITS.maxFilterDepth. */
  maxDepth?: number;
}

const MATCH_ALL: Predicate = () => true;

function isNonEmptyMap(m: Record<string, string> | undefined): m is Record<string, string> {
  return m !== undefined && m !== null && Object.keys(m).length > 0;
}

function allOf(preds: Predicate[]): Predicate {
  if (preds.length === 0) return MATCH_ALL;
  if (preds.length === 1) return preds[0] as Predicate;
  return (e) => {
    for (const p of preds) if (!p(e)) return false;
    return true;
  };
}

function anyOf(preds: Predicate[]): Predicate {
  if (preds.length === 0) return MATCH_ALL;
  if (preds.length === 1) return preds[0] as Predicate;
  return (e) => {
    for (const p of preds) if (p(e)) return true;
    return false;
  };
}

function stringMatch(map: Record<string, string>, test: (actual: string, wanted: string) => boolean): Predicate {
  const entries = Object.entries(map);
  return allOf(
    entries.map(([name, wanted]) => (e: EventRecord) => {
      const actual = attributeString(e, name);
      return actual !== undefined && test(actual, wanted);
    }),
  );
}

/** `filter.attributes` (Knative's attributes filter). */
export function compileAttributesFilter(attrs: Record<string, string>): Predicate {
  return allOf(
    Object.entries(attrs).map(([name, wanted]) => (e: EventRecord) => {
      const actual = attributeString(e, name);
      if (wanted === '') return actual !== undefined || CONTEXT_ATTRIBUTES.has(name);
      return actual === wanted;
    }),
  );
}

/** One Subscriptions API filter. With several dialects set (rejected by validation), the first in Knative's order wins. */
function compileOne(f: SubscriptionsAPIFilter, path: string, depth: number, maxDepth: number): Predicate {
  if (depth > maxDepth) throw new FilterTooDeepError(path, maxDepth);
  if (isNonEmptyMap(f.exact)) return stringMatch(f.exact, (a, w) => a === w);
  if (isNonEmptyMap(f.prefix)) return stringMatch(f.prefix, (a, w) => a.startsWith(w));
  if (isNonEmptyMap(f.suffix)) return stringMatch(f.suffix, (a, w) => a.endsWith(w));
  if (f.all !== undefined && f.all.length > 0) return allOf(f.all.map((g, i) => compileOne(g, `${path}.all[${i}]`, depth + 1, maxDepth)));
  if (f.any !== undefined && f.any.length > 0) return anyOf(f.any.map((g, i) => compileOne(g, `${path}.any[${i}]`, depth + 1, maxDepth)));
  if (f.not !== undefined && f.not !== null) {
    const inner = compileOne(f.not, `${path}.not`, depth + 1, maxDepth);
    return (e) => !inner(e);
  }
  if (f.cesql !== undefined && f.cesql !== '') {
    const expr = parseCesql(f.cesql);
    return (e) => cesqlMatches(expr, e);
  }
  return MATCH_ALL;
}

/**
 * Builds the Trigger's predicate. Throws `CesqlParseError` for an invalid `cesql` and `FilterTooDeepError` for
 * too deep a nesting (validation reports both first, with their paths); the returned predicate never throws.
 */
export function compileTriggerFilter(spec: TriggerFilterSpec, opts: CompileOptions = {}): EventFilter {
  const maxDepth = opts.maxDepth ?? INPUT_LIMITS.maxFilterDepth;
  let pred: Predicate;
  if (spec.filters !== undefined && spec.filters !== null && spec.filters.length > 0) {
    pred = allOf(spec.filters.map((f, i) => compileOne(f, `filters[${i}]`, 1, maxDepth)));
  } else if (isNonEmptyMap(spec.filter?.attributes)) {
    pred = compileAttributesFilter(spec.filter.attributes);
  } else {
    return () => true;
  }
  return (event: CloudEvent<unknown>) => {
    try {
      return pred(asRecord(event));
    } catch {
      // An event whose attributes cannot be read (e.g. a throwing getter) does not match.
      return false;
    }
  };
}
