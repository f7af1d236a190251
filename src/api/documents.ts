/**
 * Parsing untrusted JSON and YAML text into plain values, within the input limits (limits.ts). Shared by the
 * control API's body parsers and the manifest loader, which wrap a problem into their own error types. Pure.
 *
 * Where each step recurses, and what bounds it:
 * - `JSON.parse` and the `yaml` Parser (text to CST) are iterative in Node 26 and yaml 2: any depth parses;
 * - the CST is measured here without recursion before yaml composes it (composition and `toJS` recurse once
 *   per level), so a YAML document over `maxDocumentDepth` is refused before either runs;
 * - `toJS` runs with `maxAliasCount` (billion laughs), and an alias may still make the value deeper or larger
 *   than its text, or refer to itself: the value walk below measures the result, again without recursion;
 * - everything downstream (ajv, the unknown-field walk, structuredClone, JSON.stringify of the store) then
 *   recurses at most `maxDocumentDepth` levels.
 */
import { Composer, LineCounter, Parser, YAMLError, type CST } from 'yaml';
import { INPUT_LIMITS, type InputLimits } from './limits.js';

export interface DocumentProblem {
  /** `syntax`: not JSON/YAML; `limit`: well-formed but over one of the input limits. */
  kind: 'syntax' | 'limit';
  /** The reason, without the position, e.g. `nested deeper than 100 levels (limit maxDocumentDepth)`. */
  message: string;
  /** The limit that was hit (`limit` problems only). */
  limit?: keyof InputLimits;
  /** 1-based position in the text, when the problem has one. */
  line?: number;
  column?: number;
  /** Field path in the value (`spec.x[0][0]`), when the problem is in the parsed value. */
  field?: string;
  /** Index of the YAML document in a multi-document stream. */
  index?: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: DocumentProblem };

function isObjectLike(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** How many leading path segments a limit message shows before `…`. */
const SHOWN_SEGMENTS = 12;

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

function pathOf(frame: Frame): string {
  const keys: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) keys.push(f.key);
  keys.reverse();
  const shown = keys.slice(0, SHOWN_SEGMENTS);
  let out = '';
  for (const k of shown) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return keys.length > SHOWN_SEGMENTS ? `${out}…` : out;
}

export function depthMessage(limits: InputLimits): string {
  return `nested deeper than ${limits.maxDocumentDepth} levels (limit maxDocumentDepth = ${limits.maxDocumentDepth})`;
}

/**
 * The first place where `value` goes over `maxDocumentDepth` or `maxDocumentSize`, walking it without recursion.
 * A value that refers to itself (a YAML alias inside its own anchor) is infinitely deep and reported as such.
 * Shared subtrees count every time they appear, as they would once serialised.
 */
export function valueLimitProblem(value: unknown, limits: InputLimits = INPUT_LIMITS): DocumentProblem | undefined {
  let size = 0;
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const v = frame.value;
    size += typeof v === 'string' ? v.length + 1 : 1;
    if (size > limits.maxDocumentSize) {
      return {
        kind: 'limit',
        limit: 'maxDocumentSize',
        field: pathOf(frame),
        message: `larger than ${limits.maxDocumentSize} characters once YAML aliases are expanded (limit maxDocumentSize = ${limits.maxDocumentSize})`,
      };
    }
    if (!isObjectLike(v)) continue;
    const depth = frame.depth + 1;
    if (depth > limits.maxDocumentDepth) return { kind: 'limit', limit: 'maxDocumentDepth', field: pathOf(frame), message: depthMessage(limits) };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, parent: frame, key: i });
    } else {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown];
        size += k.length;
        stack.push({ value: child, depth, parent: frame, key: k });
      }
    }
  }
  return undefined;
}

/** `valueLimitProblem` as validation reports it: a field error at the path where the limit was crossed. */
export function valueLimitErrors(value: unknown, limits: InputLimits = INPUT_LIMITS): { field: string; message: string }[] {
  const problem = valueLimitProblem(value, limits);
  return problem ? [{ field: problem.field ?? '', message: problem.message }] : [];
}

/** Parses one JSON document within the limits. */
export function parseJsonText(text: string, limits: InputLimits = INPUT_LIMITS): ParseResult<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: { kind: 'syntax', message: err instanceof Error ? err.message : String(err) } };
  }
  const problem = valueLimitProblem(value, limits);
  return problem ? { ok: false, problem } : { ok: true, value };
}

type CstItem = { key?: CST.Token | null; value?: CST.Token | null };

/** The offset of the first collection in `root` nested deeper than `max`, walking the CST without recursion. */
function cstTooDeep(root: CST.Token | undefined, max: number): number | undefined {
  const stack: { token: CST.Token; depth: number }[] = root ? [{ token: root, depth: 0 }] : [];
  while (stack.length > 0) {
    const { token, depth } = stack.pop() as { token: CST.Token; depth: number };
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    const d = depth + 1;
    if (d > max) return token.offset;
    for (const item of token.items as CstItem[]) {
      if (item.key) stack.push({ token: item.key, depth: d });
      if (item.value) stack.push({ token: item.value, depth: d });
    }
  }
  return undefined;
}

/**
 * Parses a stream of YAML documents (`---`-separated; JSON is YAML) within the limits. Empty documents give
 * `null`. The first problem stops the parse.
 */
export function parseYamlText(text: string, limits: InputLimits = INPUT_LIMITS): ParseResult<unknown[]> {
  const lines = new LineCounter();
  const at = (offset: number): { line: number; column: number } => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  let index = 0;
  for (const t of tokens) {
    if (t.type !== 'document') continue;
    const offset = cstTooDeep(t.value, limits.maxDocumentDepth);
    if (offset !== undefined) return { ok: false, problem: { kind: 'limit', limit: 'maxDocumentDepth', message: depthMessage(limits), index, ...at(offset) } };
    index++;
  }
  const values: unknown[] = [];
  const docs = Array.from(new Composer({ uniqueKeys: true }).compose(tokens));
  for (const [i, doc] of docs.entries()) {
    const err = doc.errors[0];
    if (err) return { ok: false, problem: { kind: 'syntax', message: err.message, index: i, ...at(err.pos[0]) } };
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxYamlAliasCount });
    } catch (e) {
      if (e instanceof ReferenceError && /alias count/i.test(e.message)) {
        return {
          ok: false,
          problem: {
            kind: 'limit',
            limit: 'maxYamlAliasCount',
            index: i,
            message: `aliases expand more than ${limits.maxYamlAliasCount} times (limit maxYamlAliasCount = ${limits.maxYamlAliasCount})`,
          },
        };
      }
      const message = e instanceof YAMLError || e instanceof Error ? e.message : String(e);
      return { ok: false, problem: { kind: 'syntax', message, index: i } };
    }
    const problem = valueLimitProblem(value, limits);
    if (problem) return { ok: false, problem: { ...problem, index: i } };
    values.push(value ?? null);
  }
  return { ok: true, value: values };
}

/** `at spec.x[0]…: ` / `at line 3, column 5: ` / `` — where a problem is, for messages. */
export function problemWhere(problem: DocumentProblem): string {
  if (problem.line !== undefined) return ` at line ${problem.line}, column ${problem.column ?? 1}`;
  if (problem.field) return ` at ${problem.field}`;
  return '';
}
