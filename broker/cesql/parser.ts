/**
 * CESQL parser: recursive descent over the token list, one function per precedence level.
 *
 * Precedence, lowest first: OR; XOR; AND; NOT (prefix); = != <>; < <= > >= [NOT] LIKE [NOT] IN; + -;
 * * / %; unary - (and NOT in operand position, e.g. `x = NOT y`). Binary operators are left-associative.
 * `NOT a = b` reads as `NOT (a = b)`, as in SQL.
 *
 * Nesting is limited (`maxDepth`, default INPUT_LIMITS.maxCesqlDepth): the parser recurses once per parenthesis,
 * prefix operator, call or IN list, and the evaluator once per tree level, which a chain of binary operators
 * (`a OR b OR c ...`) deepens by one per operator. Going over the limit is a parse error at the token that
 * crossed it, so no expression can overflow the stack of either.
 */
import type { BinaryOp, CallNode, CesqlExpression, CesqlNode, LikeNode, Position } from './ast.js';
import { INPUT_LIMITS } from '../../src/api/limits.js';
import { INT32_MAX } from './casting.js';
import { CesqlParseError } from './errors.js';
import { resolveFunction } from './functions.js';
import { describeToken, tokenize, type Token, type TokenKind } from './lexer.js';

/** Compiles a LIKE pattern: `%` any run, `_` one character, `\%` and `\_` literal; anchored, whole value. */
export function compileLikePattern(pattern: string): RegExp {
  let re = '^';
  const cs = Array.from(pattern);
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i] as string;
    if (c === '\\' && (cs[i + 1] === '%' || cs[i + 1] === '_')) {
      re += cs[i + 1];
      i++;
    } else if (c === '%') {
      re += '.*';
    } else if (c === '_') {
      re += '.';
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`${re}$`, 'su');
}

export interface CesqlParseOptions {
  /** Deepest nesting accepted; default INPUT_LIMITS.maxCesqlDepth. */
  maxDepth?: number;
}

class Parser {
  private pos = 0;
  /** Current recursion depth of the descent. */
  private depth = 0;
  /** Height of each subtree built so far (a leaf is 1). */
  private readonly heights = new WeakMap<CesqlNode, number>();

  constructor(
    private readonly tokens: Token[],
    private readonly maxDepth: number,
  ) {}

  private tooDeep(at: Position): never {
    throw new CesqlParseError(
      `expression nested deeper than ${this.maxDepth} levels (limit maxCesqlDepth = ${this.maxDepth}) at line ${at.line}, column ${at.column}`,
      { line: at.line, column: at.column },
    );
  }

  /** Runs one level of the descent, refusing to go deeper than the limit. */
  private nested<T>(t: Token, parse: () => T): T {
    if (++this.depth > this.maxDepth) this.tooDeep(t);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  /** Records `node`'s height (one more than its tallest child), refusing a tree taller than the limit. */
  private built<N extends CesqlNode>(node: N, children: readonly CesqlNode[], at: Position): N {
    let h = 0;
    for (const c of children) h = Math.max(h, this.heights.get(c) ?? 1);
    if (h + 1 > this.maxDepth) this.tooDeep(at);
    this.heights.set(node, h + 1);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.pos] as Token;
  }

  private peekAt(offset: number): Token {
    return (this.tokens[this.pos + offset] ?? this.tokens[this.tokens.length - 1]) as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isKeyword(word: string, t: Token = this.peek()): boolean {
    return t.kind === 'keyword' && t.text === word;
  }

  private fail(t: Token, expected?: string): never {
    const what = `unexpected ${describeToken(t)}`;
    const msg = expected === undefined ? what : `${what}, expected ${expected}`;
    throw new CesqlParseError(`${msg} at line ${t.line}, column ${t.column}`, { line: t.line, column: t.column });
  }

  private expect(kind: TokenKind, expected: string): Token {
    const t = this.peek();
    if (t.kind !== kind) this.fail(t, expected);
    return this.next();
  }

  parse(): CesqlNode {
    const root = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(t);
    return root;
  }

  private binary(op: BinaryOp, left: CesqlNode, right: CesqlNode, at: Position): CesqlNode {
    return this.built({ kind: 'binary', op, left, right, line: at.line, column: at.column }, [left, right], at);
  }

  private parseOr(): CesqlNode {
    let left = this.parseXor();
    while (this.isKeyword('OR')) {
      const t = this.next();
      left = this.binary('OR', left, this.parseXor(), t);
    }
    return left;
  }

  private parseXor(): CesqlNode {
    let left = this.parseAnd();
    while (this.isKeyword('XOR')) {
      const t = this.next();
      left = this.binary('XOR', left, this.parseAnd(), t);
    }
    return left;
  }

  private parseAnd(): CesqlNode {
    let left = this.parseNot();
    while (this.isKeyword('AND')) {
      const t = this.next();
      left = this.binary('AND', left, this.parseNot(), t);
    }
    return left;
  }

  private parseNot(): CesqlNode {
    if (this.isKeyword('NOT')) {
      const t = this.next();
      const operand = this.nested(t, () => this.parseNot());
      return this.built({ kind: 'not', operand, line: t.line, column: t.column }, [operand], t);
    }
    return this.parseEquality();
  }

  private parseEquality(): CesqlNode {
    let left = this.parseRelational();
    for (;;) {
      const t = this.peek();
      if (t.kind === '=') {
        this.next();
        left = this.binary('=', left, this.parseRelational(), t);
      } else if (t.kind === '!=' || t.kind === '<>') {
        this.next();
        left = this.binary('!=', left, this.parseRelational(), t);
      } else {
        return left;
      }
    }
  }

  private parseRelational(): CesqlNode {
    let left = this.parseAdditive();
    for (;;) {
      const t = this.peek();
      if (t.kind === '<' || t.kind === '<=' || t.kind === '>' || t.kind === '>=') {
        this.next();
        left = this.binary(t.kind, left, this.parseAdditive(), t);
        continue;
      }
      const negated = this.isKeyword('NOT', t) && (this.isKeyword('LIKE', this.peekAt(1)) || this.isKeyword('IN', this.peekAt(1)));
      const op = negated ? this.peekAt(1) : t;
      if (this.isKeyword('LIKE', op)) {
        if (negated) this.next();
        this.next();
        left = this.parseLikeRest(left, negated, op);
      } else if (this.isKeyword('IN', op)) {
        if (negated) this.next();
        this.next();
        left = this.parseInRest(left, negated, op);
      } else {
        return left;
      }
    }
  }

  private parseLikeRest(operand: CesqlNode, negated: boolean, at: Token): LikeNode {
    const p = this.expect('string', 'a string literal pattern after LIKE');
    const node: LikeNode = {
      kind: 'like',
      operand,
      pattern: p.text,
      matcher: compileLikePattern(p.text),
      negated,
      line: at.line,
      column: at.column,
    };
    return this.built(node, [operand], at);
  }

  private parseInRest(operand: CesqlNode, negated: boolean, at: Token): CesqlNode {
    const open = this.expect('(', "'(' after IN");
    const items = this.nested(open, () => {
      const list = [this.parseOr()];
      while (this.peek().kind === ',') {
        this.next();
        list.push(this.parseOr());
      }
      return list;
    });
    this.expect(')', "',' or ')'");
    return this.built({ kind: 'in', operand, items, negated, line: at.line, column: at.column }, [operand, ...items], at);
  }

  private parseAdditive(): CesqlNode {
    let left = this.parseMultiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== '+' && t.kind !== '-') return left;
      this.next();
      left = this.binary(t.kind, left, this.parseMultiplicative(), t);
    }
  }

  private parseMultiplicative(): CesqlNode {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== '*' && t.kind !== '/' && t.kind !== '%') return left;
      this.next();
      left = this.binary(t.kind, left, this.parseUnary(), t);
    }
  }

  private parseUnary(): CesqlNode {
    const t = this.peek();
    if (t.kind === '-') {
      this.next();
      const operand = this.peek();
      // `-2147483648` is a literal: the minus belongs to the integer literal (CESQL §2.2).
      if (operand.kind === 'integer') {
        this.next();
        return { kind: 'literal', value: this.integerValue(operand, true), line: t.line, column: t.column };
      }
      const inner = this.nested(t, () => this.parseUnary());
      return this.built({ kind: 'negate', operand: inner, line: t.line, column: t.column }, [inner], t);
    }
    if (this.isKeyword('NOT', t)) {
      this.next();
      const inner = this.nested(t, () => this.parseUnary());
      return this.built({ kind: 'not', operand: inner, line: t.line, column: t.column }, [inner], t);
    }
    return this.parsePrimary();
  }

  private integerValue(t: Token, negative: boolean): number {
    const digits = t.text.replace(/^0+(?=\d)/, '');
    const limit = negative ? '2147483648' : String(INT32_MAX);
    const tooBig = digits.length > limit.length || (digits.length === limit.length && digits > limit);
    if (tooBig) {
      throw new CesqlParseError(
        `integer literal ${negative ? '-' : ''}${t.text} is outside the 32-bit range at line ${t.line}, column ${t.column}`,
        { line: t.line, column: t.column },
      );
    }
    const v = Number(digits);
    return negative ? -v : v;
  }

  private parsePrimary(): CesqlNode {
    const t = this.next();
    switch (t.kind) {
      case 'integer':
        return { kind: 'literal', value: this.integerValue(t, false), line: t.line, column: t.column };
      case 'string':
        return { kind: 'literal', value: t.text, line: t.line, column: t.column };
      case '(': {
        const inner = this.nested(t, () => this.parseOr());
        this.expect(')', "')'");
        return inner;
      }
      case 'keyword':
        if (t.text === 'TRUE' || t.text === 'FALSE') {
          return { kind: 'literal', value: t.text === 'TRUE', line: t.line, column: t.column };
        }
        if (t.text === 'EXISTS') {
          const id = this.next();
          if (id.kind !== 'word' && id.kind !== 'integer') this.fail(id, 'an attribute name after EXISTS');
          return { kind: 'exists', name: id.text.toLowerCase(), line: t.line, column: t.column };
        }
        return this.fail(t);
      case 'word': {
        if (this.peek().kind === '(') return this.parseCallRest(t);
        if (!/^[a-zA-Z0-9]+$/.test(t.text)) this.fail(t, 'an attribute name');
        return { kind: 'attribute', name: t.text.toLowerCase(), line: t.line, column: t.column };
      }
      default:
        return this.fail(t);
    }
  }

  private parseCallRest(nameToken: Token): CesqlNode {
    if (!/^[a-zA-Z][a-zA-Z_]*$/.test(nameToken.text)) this.fail(nameToken, 'a function name');
    const open = this.next(); // '('
    const args: CesqlNode[] = [];
    this.nested(open, () => {
      if (this.peek().kind === ')') return;
      args.push(this.parseOr());
      while (this.peek().kind === ',') {
        this.next();
        args.push(this.parseOr());
      }
    });
    this.expect(')', "',' or ')'");
    const name = nameToken.text.toUpperCase();
    const node: CallNode = { kind: 'call', name, args, fn: resolveFunction(name, args.length), line: nameToken.line, column: nameToken.column };
    return this.built(node, args, nameToken);
  }
}

/** Parses a CESQL v1.0 expression. Throws `CesqlParseError` with the line and column of the problem. */
export function parseCesql(source: string, opts: CesqlParseOptions = {}): CesqlExpression {
  const root = new Parser(tokenize(source), opts.maxDepth ?? INPUT_LIMITS.maxCesqlDepth).parse();
  return Object.freeze({ source, root });
}
