import { describe, expect, it } from 'vitest';
import { CesqlParseError, cesqlMatches, evaluateCesql, parseCesql } from '../../../../broker/cesql/index.js';
import { INPUT_LIMITS } from '../../../../src/api/limits.js';

const event = { specversion: '1.0', id: 'e-1', source: '/s', type: 'dev.example.order', n: 7 };
const MAX = INPUT_LIMITS.maxCesqlDepth;

function parseError(source: string, maxDepth?: number): CesqlParseError {
  try {
    parseCesql(source, maxDepth === undefined ? {} : { maxDepth });
  } catch (err) {
    if (err instanceof CesqlParseError) return err;
    throw err;
  }
  throw new Error(`expected a parse error for ${source.slice(0, 40)}…`);
}

const tooDeep = `expression nested deeper than ${MAX} levels (limit maxCesqlDepth = ${MAX})`;

describe('CESQL nesting limit (maxCesqlDepth)', () => {
  it('refuses 20 000 parentheses with a parse error at the parenthesis that crossed the limit', () => {
    const err = parseError(`${'('.repeat(20_000)}TRUE${')'.repeat(20_000)}`);
    expect(err.code).toBe('WISP_ERR_CESQL_PARSE');
    expect(err.message).toBe(`${tooDeep} at line 1, column ${MAX + 1}`);
  });

  it('refuses 50 000 chained NOT (statement and operand position)', () => {
    expect(parseError(`${'NOT '.repeat(50_000)}TRUE`).message).toMatch(new RegExp(`^${tooDeep.replace(/[()]/g, '\\$&')} at line 1, column \\d+$`));
    expect(parseError(`n = ${'NOT '.repeat(50_000)}TRUE`).message).toContain(tooDeep);
    expect(parseError(`${'-'.repeat(50_000)}n`).message).toContain(tooDeep);
  });

  it('refuses 50 000 chained binary operators, which build a tree the evaluator would recurse down', () => {
    expect(parseError(`1${' + 1'.repeat(50_000)} = 50001`).message).toContain(tooDeep);
    expect(parseError(Array.from({ length: 50_000 }, (_, i) => `type = 't${i}'`).join(' OR ')).message).toContain(tooDeep);
  });

  it('refuses nesting through function calls and IN lists', () => {
    expect(parseError(`${'ABS('.repeat(5000)}1${')'.repeat(5000)} = 1`).message).toContain(tooDeep);
    expect(parseError(`${'n IN ('.repeat(5000)}1${')'.repeat(5000)}`).message).toContain(tooDeep);
  });

  it('accepts and evaluates expressions right at the limit', () => {
    // MAX - 1 parentheses around a comparison of two leaves: the descent and the tree both stay within MAX.
    const parens = `${'('.repeat(MAX - 1)}n = 7${')'.repeat(MAX - 1)}`;
    expect(cesqlMatches(parseCesql(parens), event)).toBe(true);
    const nots = `${'NOT '.repeat(MAX - 1)}FALSE`;
    expect(evaluateCesql(parseCesql(nots), event)).toEqual({ value: (MAX - 1) % 2 === 1, errors: [] });
    const sum = `1${' + 1'.repeat(MAX - 2)}`;
    expect(evaluateCesql(parseCesql(sum), event)).toEqual({ value: MAX - 1, errors: [] });
    expect(parseError(`1${' + 1'.repeat(MAX)}`).message).toContain(tooDeep);
  });

  it('takes another limit as an option', () => {
    expect(parseCesql('(((n = 7)))', { maxDepth: 3 }).root.kind).toBe('binary');
    expect(parseError('((((n = 7))))', 3).message).toBe('expression nested deeper than 3 levels (limit maxCesqlDepth = 3) at line 1, column 4');
    expect(parseError('1 + 2 + 3 + 4', 3).message).toBe('expression nested deeper than 3 levels (limit maxCesqlDepth = 3) at line 1, column 11');
  });
});
