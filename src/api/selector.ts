/**
 * Kubernetes label selectors (metav1.LabelSelector): `matchLabels` and `matchExpressions` with the operators
 * In, NotIn, Exists and DoesNotExist, ANDed together. An empty selector matches everything. Pure.
 */
import type { FieldError } from './errors.js';
import type { JsonSchema } from './schema.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

const str: JsonSchema = { type: 'string' };

export const labelSelectorSchema: JsonSchema = {
  type: 'object',
  properties: {
    matchLabels: { type: 'object', additionalProperties: str },
    matchExpressions: {
      type: 'array',
      items: { type: 'object', properties: { key: str, operator: str, values: { type: 'array', items: str } } },
    },
  },
};

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** What Kubernetes' selector validation refuses: unknown operators, values where none belong, none where some must. */
export function labelSelectorErrors(selector: LabelSelector | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  (selector?.matchExpressions ?? []).forEach((r, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    if (!r.key) errs.push({ field: `${at}.key`, message: 'missing field(s)' });
    if (!OPERATORS.includes(r.operator)) {
      errs.push({ field: `${at}.operator`, message: `invalid value "${String(r.operator)}": want one of ${OPERATORS.join(', ')}` });
      return;
    }
    const n = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) errs.push({ field: `${at}.values`, message: `must be non-empty for operator ${r.operator}` });
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) errs.push({ field: `${at}.values`, message: `must be empty for operator ${r.operator}` });
  });
  return errs;
}

/** Whether `labels` satisfy every term of `selector`. */
export function labelSelectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(l, k);
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const values = r.values ?? [];
    const ok =
      r.operator === 'In'
        ? has(r.key) && values.includes(l[r.key] ?? '')
        : r.operator === 'NotIn'
          ? !has(r.key) || !values.includes(l[r.key] ?? '')
          : r.operator === 'Exists'
            ? has(r.key)
            : !has(r.key);
    if (!ok) return false;
  }
  return true;
}
