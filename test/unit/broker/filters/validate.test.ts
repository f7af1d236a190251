import { describe, expect, it } from 'vitest';
import { validateTriggerFilters } from '../../../../broker/filters/index.js';

const base = { broker: 'default', subscriber: { uri: 'http://localhost:1/' } };

describe('validateTriggerFilters', () => {
  it('accepts valid filter and filters, and a spec without any', () => {
    expect(validateTriggerFilters(base)).toEqual([]);
    expect(
      validateTriggerFilters({
        ...base,
        filter: { attributes: { type: 'dev.example.order', source: '' } },
        filters: [
          { exact: { type: 'dev.example.order' } },
          { any: [{ prefix: { source: '/orders' } }, { not: { suffix: { type: '.test' } } }] },
          { cesql: "type LIKE 'dev.example.%' AND amount > 100" },
        ],
      }),
    ).toEqual([]);
  });

  it('rejects two dialects in one element, naming both', () => {
    expect(validateTriggerFilters({ ...base, filters: [{ cesql: 'TRUE' }, { exact: { type: 'a' }, prefix: { type: 'b' } }] })).toEqual([
      {
        field: 'spec.filters[1]',
        message: 'exactly one of exact, prefix, suffix, all, any, not, cesql must be set, found exact, prefix',
      },
    ]);
  });

  it('rejects an element with no dialect', () => {
    expect(validateTriggerFilters({ ...base, filters: [{}] })).toEqual([
      { field: 'spec.filters[0]', message: 'exactly one of exact, prefix, suffix, all, any, not, cesql must be set, found none' },
    ]);
  });

  it('rejects bad attribute names, naming the key', () => {
    expect(validateTriggerFilters({ ...base, filter: { attributes: { Type: 'x', '1abc': 'y' } } })).toEqual([
      {
        field: 'spec.filter.attributes',
        message: 'invalid attribute name "Type": must start with a lower-case letter and contain only lower-case letters and digits',
      },
      {
        field: 'spec.filter.attributes',
        message: 'invalid attribute name "1abc": must start with a lower-case letter and contain only lower-case letters and digits',
      },
    ]);
    expect(validateTriggerFilters({ ...base, filters: [{ all: [{ exact: { type: 'a' } }, { exact: { 'my-ext': 'b' } }] }] })).toEqual([
      {
        field: 'spec.filters[0].all[1].exact',
        message: 'invalid attribute name "my-ext": must start with a lower-case letter and contain only lower-case letters and digits',
      },
    ]);
  });

  it('exact, prefix and suffix take exactly one key; prefix and suffix values are non-empty', () => {
    expect(validateTriggerFilters({ ...base, filters: [{ exact: { type: 'a', source: 'b' } }] })).toEqual([
      { field: 'spec.filters[0].exact', message: 'must have exactly one attribute, found 2' },
    ]);
    expect(validateTriggerFilters({ ...base, filters: [{ prefix: { type: '' } }, { suffix: {} }] })).toEqual([
      { field: 'spec.filters[0].prefix', message: 'value of "type" must not be empty' },
      { field: 'spec.filters[1].suffix', message: 'must have exactly one attribute, found 0' },
    ]);
    expect(validateTriggerFilters({ ...base, filters: [{ exact: { type: 3 } }] })).toEqual([
      { field: 'spec.filters[0].exact', message: 'value of "type" must be a string, got number' },
    ]);
  });

  it('rejects an empty any and an empty all', () => {
    expect(validateTriggerFilters({ ...base, filters: [{ any: [] }, { not: { all: [] } }] })).toEqual([
      { field: 'spec.filters[0].any', message: 'must contain at least one filter' },
      { field: 'spec.filters[1].not.all', message: 'must contain at least one filter' },
    ]);
  });

  it('reports a CESQL syntax error with its path, line and column', () => {
    expect(validateTriggerFilters({ ...base, filters: [{ cesql: "type = 'dev' OR)" }] })).toEqual([
      { field: 'spec.filters[0].cesql', message: "unexpected ')' at line 1, column 16" },
    ]);
    expect(validateTriggerFilters({ ...base, filters: [{ exact: { type: 'a' } }, { cesql: "type = 'a'\n  AND amount >" }] })).toEqual([
      { field: 'spec.filters[1].cesql', message: 'unexpected end of input at line 2, column 15' },
    ]);
    expect(validateTriggerFilters({ ...base, filters: [{ any: [{ cesql: "x LIKE 123" }] }] })).toEqual([
      { field: 'spec.filters[0].any[0].cesql', message: "unexpected '123', expected a string literal pattern after LIKE at line 1, column 8" },
    ]);
  });

  it('uses the given base path and rejects wrong shapes', () => {
    expect(validateTriggerFilters({ filters: { exact: {} } }, 'trigger.spec')).toEqual([
      { field: 'trigger.spec.filters', message: 'must be a list of filters, got object' },
    ]);
    expect(validateTriggerFilters({ filters: ['type'] })).toEqual([
      { field: 'spec.filters[0]', message: 'must be a filter object, got string' },
    ]);
    expect(validateTriggerFilters({ filters: [{ cesql: '' }] })).toEqual([
      { field: 'spec.filters[0].cesql', message: 'must not be empty' },
    ]);
    expect(validateTriggerFilters('nope')).toEqual([]);
  });
});
