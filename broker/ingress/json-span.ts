/**
 * Finds where the `data` member's value sits in the text of a structured event (or of each event of a batch),
 * so the broker keeps that raw JSON text instead of re-serialising a parsed value (which would turn
 * `12345678901234567890123` into `1.2345678901234568e+22`, `1.0` into `1`, reorder nothing but drop
 * duplicate keys, and rewrite `\u00e9` escapes). Pure: no I/O.
 *
 * The text must already be known to be valid JSON (the caller ran JSON.parse on it): the scanner only skips
 * strings and matches brackets, it does not validate. Like JSON.parse, the last of duplicate `data` keys wins.
 */

/** Start and end (exclusive) indexes of a value in the text. */
export type Span = readonly [number, number];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(s: string, i: number): number {
  while (i < s.length && isWhitespace(s.charCodeAt(i))) i++;
  return i;
}

/** `s[i]` is the opening quote; returns the index after the closing quote. */
function skipString(s: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = s.indexOf('"', from);
    if (q === -1) return s.length;
    let backslashes = 0;
    for (let k = q - 1; k > i && s.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** Returns the index after the JSON value that starts at `i`. */
function skipValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === QUOTE) return skipString(s, i);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    while (i < s.length) {
      const ch = s.charCodeAt(i);
      if (ch === QUOTE) {
        i = skipString(s, i);
        continue;
      }
      if (ch === OPEN_OBJECT || ch === OPEN_ARRAY) depth++;
      else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  // A number, true, false or null: up to the next delimiter.
  while (i < s.length) {
    const ch = s.charCodeAt(i);
    if (ch === COMMA || ch === CLOSE_OBJECT || ch === CLOSE_ARRAY || isWhitespace(ch)) break;
    i++;
  }
  return i;
}

/** The object at `i` (`s[i]` is `{`): the span of its last `data` member's value, and the index after it. */
function objectDataSpan(s: string, i: number): { span: Span | undefined; end: number } {
  let span: Span | undefined;
  i = skipWhitespace(s, i + 1);
  if (s.charCodeAt(i) === CLOSE_OBJECT) return { span, end: i + 1 };
  while (i < s.length) {
    const keyEnd = skipString(s, i);
    const raw = s.slice(i + 1, keyEnd - 1);
    const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
    i = skipWhitespace(s, keyEnd);
    if (s.charCodeAt(i) === COLON) i = skipWhitespace(s, i + 1);
    const valueEnd = skipValue(s, i);
    if (key === 'data') span = [i, valueEnd];
    i = skipWhitespace(s, valueEnd);
    if (s.charCodeAt(i) === COMMA) {
      i = skipWhitespace(s, i + 1);
      continue;
    }
    return { span, end: i + 1 };
  }
  return { span, end: i };
}

/** The span of the top-level object's `data` value (`text` is a valid JSON object). */
export function dataSpan(text: string): Span | undefined {
  const i = skipWhitespace(text, 0);
  return text.charCodeAt(i) === OPEN_OBJECT ? objectDataSpan(text, i).span : undefined;
}

/** For a valid JSON array: per element, the span of its `data` value (undefined for none or a non-object). */
export function batchDataSpans(text: string): Array<Span | undefined> {
  const out: Array<Span | undefined> = [];
  let i = skipWhitespace(text, 0);
  if (text.charCodeAt(i) !== OPEN_ARRAY) return out;
  i = skipWhitespace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_ARRAY) return out;
  while (i < text.length) {
    if (text.charCodeAt(i) === OPEN_OBJECT) {
      const { span, end } = objectDataSpan(text, i);
      out.push(span);
      i = end;
    } else {
      out.push(undefined);
      i = skipValue(text, i);
    }
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) !== COMMA) break;
    i = skipWhitespace(text, i + 1);
  }
  return out;
}
