import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  CesqlError,
  CesqlParseError,
  ERROR_CODES,
  cesqlMatches,
  evaluateCesql,
  parseCesql,
  tokenize,
  type CesqlErrorCode,
} from '../../../../broker/cesql/index.js';

const event = { specversion: '1.0', id: 'e-1', source: '/s', type: 'dev.example.order', amount: '150', flag: true, n: 7 };

function evaluate(source: string, input: Record<string, unknown> | CloudEvent = event) {
  const { value, errors } = evaluateCesql(parseCesql(source), input);
  return { value, kinds: errors.map((e) => e.kind) };
}

function parseError(source: string): CesqlParseError {
  try {
    parseCesql(source);
  } catch (err) {
    if (err instanceof CesqlParseError) return err;
    throw err;
  }
  throw new Error(`expected a parse error for ${source}`);
}

describe('lexer', () => {
  it('gives every token its line and column', () => {
    const toks = tokenize("type = 'x'\n  AND\tamount >= 10");
    expect(toks.map((t) => [t.kind, t.text, t.line, t.column])).toEqual([
      ['word', 'type', 1, 1],
      ['=', '=', 1, 6],
      ['string', 'x', 1, 8],
      ['keyword', 'AND', 2, 3],
      ['word', 'amount', 2, 7],
      ['>=', '>=', 2, 14],
      ['integer', '10', 2, 17],
      ['eof', '', 2, 19],
    ]);
  });
});

describe('parseCesql errors', () => {
  it('names the unexpected token with line and column', () => {
    const e = parseError("source = 'a' AND)");
    expect(e).toMatchObject({ kind: 'parse', code: 'WISP_ERR_CESQL_PARSE', line: 1, column: 17 });
    expect(e.message).toBe("unexpected ')' at line 1, column 17");
  });

  it('reports the end of input, unterminated strings, bad characters and out-of-range integers', () => {
    expect(parseError('ABC(').message).toBe('unexpected end of input at line 1, column 5');
    expect(parseError("type = 'abc").message).toBe('unterminated string literal at line 1, column 8');
    expect(parseError('type = #').message).toBe("unexpected character '#' at line 1, column 8");
    expect(parseError('2147483648').message).toBe('integer literal 2147483648 is outside the 32-bit range at line 1, column 1');
    expect(parseError('a\n  b').message).toBe("unexpected 'b' at line 2, column 3");
    expect(parseError("EXISTS 'x'").message).toBe("unexpected string 'x', expected an attribute name after EXISTS at line 1, column 8");
    expect(parseError('type NOT 1').message).toBe("unexpected 'NOT' at line 1, column 6");
  });

  it('accepts -2147483648 as a literal', () => {
    expect(evaluate('-2147483648')).toEqual({ value: -2147483648, kinds: [] });
  });
});

describe('precedence and associativity', () => {
  it('follows arithmetic and SQL conventions', () => {
    expect(evaluate('1 + 2 * 3').value).toBe(7);
    expect(evaluate('10 - 4 - 3').value).toBe(3);
    expect(evaluate('20 / 2 / 5').value).toBe(2);
    expect(evaluate('-7 / 2').value).toBe(-3);
    expect(evaluate('-7 % 2').value).toBe(-1);
    expect(evaluate('1 + 1 = 2 AND 2 * 2 = 4').value).toBe(true);
    expect(evaluate('TRUE OR FALSE AND FALSE').value).toBe(true);
    expect(evaluate('FALSE AND FALSE OR TRUE').value).toBe(true);
    expect(evaluate("NOT type = 'x'").value).toBe(true);
    expect(evaluate('TRUE = NOT FALSE').value).toBe(true);
    expect(evaluate('n IN (1, 7) AND amount > 100 XOR FALSE').value).toBe(true);
  });

  it('keywords and function names are case-insensitive; identifiers address lower-case attributes', () => {
    expect(evaluate("Type like 'dev.%' and not exists nothing").value).toBe(true);
    expect(evaluate("lower('ABC') = Lower('abc')").value).toBe(true);
  });
});

describe('evaluation', () => {
  it('casts a string extension to Integer for comparisons and arithmetic', () => {
    expect(evaluate('amount > 100')).toEqual({ value: true, kinds: [] });
    expect(evaluate('amount + 1')).toEqual({ value: 151, kinds: [] });
    expect(evaluate('amount = 150')).toEqual({ value: true, kinds: [] });
    // mixed types: the left operand is cast to the right one's type (§3.7)
    expect(evaluate("n = '7'")).toEqual({ value: true, kinds: [] });
    expect(evaluate("TRUE = 'TRUE'")).toEqual({ value: false, kinds: [] });
  });

  it('reads boolean and integer extensions with their types', () => {
    expect(evaluate('flag')).toEqual({ value: true, kinds: [] });
    expect(evaluate('n * 2')).toEqual({ value: 14, kinds: [] });
  });

  it('reports overflow as a math error', () => {
    expect(evaluate('2147483647 + 1')).toEqual({ value: 2147483647, kinds: ['math'] });
    expect(evaluate('-2147483648 - 1')).toEqual({ value: -2147483648, kinds: ['math'] });
    expect(evaluate('65536 * 65536')).toEqual({ value: 2147483647, kinds: ['math'] });
    expect(evaluate('-(-2147483648)')).toEqual({ value: 2147483647, kinds: ['math'] });
  });

  it('collects several errors and keeps evaluating', () => {
    const r = evaluateCesql(parseCesql("INT('x') + INT('y')"), event);
    expect(r.value).toBe(0);
    expect(r.errors.map((e) => e.kind)).toEqual(['cast', 'cast']);
    expect(r.errors[0]).toBeInstanceOf(CesqlError);
    expect(r.errors[0]?.message).toBe("INT: cannot cast 'x' to Integer at line 1, column 1");
    expect(r.errors[1]).toMatchObject({ code: 'WISP_ERR_CESQL_CAST', line: 1, column: 12 });
  });

  it('missing functions and wrong arities are evaluation errors', () => {
    expect(evaluate('NOPE(1)')).toEqual({ value: false, kinds: ['missingFunction'] });
    expect(evaluate("LOWER('a', 'b')")).toEqual({ value: false, kinds: ['missingFunction'] });
  });

  it('LIKE handles special regex characters literally and matches whole values', () => {
    expect(evaluate("'a-b/c.d(e)' LIKE 'a-b/c.d(e)'").value).toBe(true);
    expect(evaluate("'a+b' LIKE 'a.b'").value).toBe(false);
    expect(evaluate("'xabcx' LIKE 'abc'").value).toBe(false);
    expect(evaluate("'line1\nline2' LIKE 'line1%'").value).toBe(true);
    expect(evaluate("'ünï' LIKE '_n_'").value).toBe(true);
  });

  it('compiles a LIKE pattern once, at parse time', () => {
    const expr = parseCesql("type LIKE 'dev.%'");
    expect(expr.root).toMatchObject({ kind: 'like', pattern: 'dev.%' });
    expect((expr.root as { matcher: unknown }).matcher).toBeInstanceOf(RegExp);
  });

  it('string functions count characters, not UTF-16 units', () => {
    expect(evaluate("LENGTH('héllo😀')").value).toBe(6);
    expect(evaluate("LEFT('😀ab', 1)").value).toBe('😀');
    expect(evaluate("CONCAT_WS('-', 'a', 1, TRUE)").value).toBe('a-1-true');
    expect(evaluate("TRIM('\t x \n')").value).toBe('x');
  });

  it('IS_* functions', () => {
    expect(evaluate("IS_INT('12') AND IS_INT(3) AND NOT IS_INT('1.5')").value).toBe(true);
    expect(evaluate("IS_BOOL('False') AND IS_BOOL(TRUE) AND NOT IS_BOOL('yes')").value).toBe(true);
    expect(evaluate("IS_STRING('a') AND NOT IS_STRING(1)").value).toBe(true);
  });

  it('reads a CloudEvent instance: core attributes, extensions, no data, no prototype members', () => {
    const ce = new CloudEvent({ id: 'x', source: '/s', type: 't', data: { a: 1 }, region: 'eu' });
    expect(evaluate("region = 'eu' AND EXISTS time AND EXISTS specversion", ce)).toEqual({ value: true, kinds: [] });
    expect(evaluate('EXISTS data OR EXISTS subject OR EXISTS constructor OR EXISTS tojson', ce)).toEqual({ value: false, kinds: [] });
  });
});

describe('cesqlMatches (the filter rule)', () => {
  it('matches only a true result without errors', () => {
    expect(cesqlMatches(parseCesql('amount > 100'), event)).toBe(true);
    expect(cesqlMatches(parseCesql('amount < 100'), event)).toBe(false);
    expect(cesqlMatches(parseCesql('NOT 10'), event)).toBe(false);
    expect(cesqlMatches(parseCesql('n'), event)).toBe(false);
    expect(cesqlMatches(parseCesql('missing = 1 OR TRUE'), event)).toBe(false);
  });
});

describe('error codes', () => {
  it('documents every code', () => {
    const codes: CesqlErrorCode[] = [
      'WISP_ERR_CESQL_PARSE',
      'WISP_ERR_CESQL_MATH',
      'WISP_ERR_CESQL_CAST',
      'WISP_ERR_CESQL_MISSING_ATTRIBUTE',
      'WISP_ERR_CESQL_MISSING_FUNCTION',
      'WISP_ERR_CESQL_FUNCTION_EVALUATION',
      'WISP_ERR_CESQL_GENERIC',
    ];
    for (const c of codes) expect(ERROR_CODES[c]).toMatch(/\w/);
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...codes].sort());
  });
});
