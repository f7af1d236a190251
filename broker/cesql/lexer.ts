/**
 * CESQL lexer: turns an expression into tokens with 1-based line/column. Keywords are case-insensitive
 * (CESQL v1.0 §2); identifiers keep their text and the parser decides what they are.
 */
import { CesqlParseError } from './errors.js';

export type TokenKind =
  | 'integer'
  | 'string'
  | 'word'
  | 'keyword'
  | '('
  | ')'
  | ','
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '='
  | '!='
  | '<>'
  | '<'
  | '<='
  | '>'
  | '>='
  | 'eof';

export const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'IN', 'EXISTS', 'TRUE', 'FALSE']);

export interface Token {
  kind: TokenKind;
  /** `integer`: the digits; `string`: the unescaped content; `keyword`: upper-cased; `word`: as written. */
  text: string;
  line: number;
  column: number;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isWordChar(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c === '_';
}

/** How a token is named in error messages. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'string':
      return `string '${t.text}'`;
    case 'integer':
      return `'${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = source.length;

  const fail = (message: string, at: number, atLine: number, atLineStart: number): never => {
    const column = at - atLineStart + 1;
    throw new CesqlParseError(`${message} at line ${atLine}, column ${column}`, { line: atLine, column });
  };

  while (i < n) {
    const c = source[i] as string;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    const start = i;
    const column = start - lineStart + 1;
    const push = (kind: TokenKind, text: string): void => {
      tokens.push({ kind, text, line, column });
    };

    if (c === "'" || c === '"') {
      // String literal: the delimiter is escaped as \' or \"; any other backslash is kept as written.
      const startLine = line;
      const startLineStart = lineStart;
      let value = '';
      i++;
      let closed = false;
      while (i < n) {
        const d = source[i] as string;
        if (d === '\\' && source[i + 1] === c) {
          value += c;
          i += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          i++;
          break;
        }
        if (d === '\n') {
          line++;
          lineStart = i + 1;
        }
        value += d;
        i++;
      }
      if (!closed) fail('unterminated string literal', start, startLine, startLineStart);
      tokens.push({ kind: 'string', text: value, line: startLine, column: start - startLineStart + 1 });
      continue;
    }

    if (isWordChar(c)) {
      while (i < n && isWordChar(source[i] as string)) i++;
      const text = source.slice(start, i);
      if (/^[0-9]+$/.test(text)) push('integer', text);
      else if (KEYWORDS.has(text.toUpperCase())) push('keyword', text.toUpperCase());
      else push('word', text);
      continue;
    }

    const two = source.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      i += 2;
      push(two, two);
      continue;
    }
    switch (c) {
      case '(':
      case ')':
      case ',':
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
      case '=':
      case '<':
      case '>':
        i++;
        push(c, c);
        continue;
      default:
        fail(`unexpected character '${c}'`, start, line, lineStart);
    }
  }
  tokens.push({ kind: 'eof', text: '', line, column: i - lineStart + 1 });
  return tokens;
}
