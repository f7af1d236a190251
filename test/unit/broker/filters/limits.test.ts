import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { compileTriggerFilter, FILTER_ERROR_CODES, FilterTooDeepError, validateTriggerFilters } from '../../../../broker/filters/index.js';
import type { SubscriptionsAPIFilter } from '../../../../broker/types.js';
import { INPUT_LIMITS } from '../../../../src/api/limits.js';

const MAX = INPUT_LIMITS.maxFilterDepth;
const message = `filters nested deeper than ${MAX} levels of all/any/not (limit maxFilterDepth = ${MAX})`;
const ev = new CloudEvent({ specversion: '1.0', id: 'e-1', source: '/orders', type: 'dev.example.order' });

/** `levels` filters deep: `levels - 1` wrappers (`not`, or a one-element `all`) around an `exact`. */
function nested(levels: number, wrap: 'not' | 'all' | 'any' = 'not'): SubscriptionsAPIFilter {
  let f: SubscriptionsAPIFilter = { exact: { type: 'dev.example.order' } };
  for (let i = 1; i < levels; i++) f = wrap === 'not' ? { not: f } : { [wrap]: [f] };
  return f;
}

describe('filter nesting limit (maxFilterDepth)', () => {
  it('validation refuses 3 000 nested not with one error at the level that crossed the limit, without overflowing', () => {
    const errs = validateTriggerFilters({ filters: [nested(3000)] });
    expect(errs).toEqual([{ field: `spec.filters[0]${'.not'.repeat(MAX)}`, message }]);
  });

  it('validation accepts exactly the limit, for not, all and any', () => {
    for (const wrap of ['not', 'all', 'any'] as const) {
      expect(validateTriggerFilters({ filters: [nested(MAX, wrap)] }), wrap).toEqual([]);
      expect(validateTriggerFilters({ filters: [nested(MAX + 1, wrap)] }), wrap).toEqual([{ field: expect.any(String), message }]);
    }
    expect(validateTriggerFilters({ filters: [nested(MAX + 1, 'all')] })[0]?.field).toBe(`spec.filters[0]${'.all[0]'.repeat(MAX)}`);
  });

  it('the compiler refuses 3 000 nested not with a typed error, and compiles (and matches) at the limit', () => {
    let thrown: unknown;
    try {
      compileTriggerFilter({ filters: [nested(3000)] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FilterTooDeepError);
    expect(thrown).toMatchObject({ code: 'WISP_ERR_FILTER_TOO_DEEP', statusCode: 422, field: `filters[0]${'.not'.repeat(MAX)}` });
    expect((thrown as Error).message).toBe(`filters[0]${'.not'.repeat(MAX)}: ${message}`);
    // MAX levels: MAX - 1 `not` around an exact match, so it matches when MAX - 1 is even.
    expect(compileTriggerFilter({ filters: [nested(MAX)] })(ev)).toBe((MAX - 1) % 2 === 0);
    expect(compileTriggerFilter({ filters: [nested(MAX, 'any')] })(ev)).toBe(true);
  });

  it('takes another limit as an option', () => {
    expect(validateTriggerFilters({ filters: [nested(3)] }, 'spec', { maxDepth: 2 })).toEqual([
      { field: 'spec.filters[0].not.not', message: 'filters nested deeper than 2 levels of all/any/not (limit maxFilterDepth = 2)' },
    ]);
    expect(() => compileTriggerFilter({ filters: [nested(3)] }, { maxDepth: 2 })).toThrow(FilterTooDeepError);
  });

  it('documents its error code', () => {
    expect(Object.keys(FILTER_ERROR_CODES)).toEqual([new FilterTooDeepError('filters[0]', MAX).code]);
  });
});
