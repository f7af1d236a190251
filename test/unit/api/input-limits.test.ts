import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseJsonText, parseYamlText, valueLimitProblem } from '../../../src/api/documents.js';
import { ManifestError } from '../../../src/api/errors.js';
import { INPUT_LIMITS } from '../../../src/api/limits.js';
import { loadManifests } from '../../../src/api/load.js';
import { validate } from '../../../src/api/validate.js';
import { run } from '../cli/run.js';

const deepArrays = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const nestedArray = (n: number): unknown => {
  let v: unknown = [];
  for (let i = 1; i < n; i++) v = [v];
  return v;
};

/** Ten anchors, each a list of ten aliases of the one before: 10^9 "lol" once expanded. */
const BILLION_LAUGHS = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: laughs
  annotations:
    a0: &a0 "lol"
${Array.from({ length: 9 }, (_, i) => `    a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`).join('\n')}
`;

describe('input limits: the numbers', () => {
  it('are the documented defaults', () => {
    expect(INPUT_LIMITS).toEqual({ maxDocumentDepth: 100, maxDocumentSize: 3 * 1024 * 1024, maxYamlAliasCount: 100, maxFilterDepth: 32, maxCesqlDepth: 200 });
    expect(Object.isFrozen(INPUT_LIMITS)).toBe(true);
  });
});

describe('parseJsonText', () => {
  it('accepts exactly maxDocumentDepth levels and refuses one more, naming the limit and where', () => {
    expect(parseJsonText(deepArrays(100))).toMatchObject({ ok: true });
    const r = parseJsonText(`{"spec":{"x":${deepArrays(99)}}}`);
    expect(r).toMatchObject({ ok: false, problem: { kind: 'limit', limit: 'maxDocumentDepth', field: 'spec.x[0][0][0][0][0][0][0][0][0][0]…' } });
    if (!r.ok) expect(r.problem.message).toBe('nested deeper than 100 levels (limit maxDocumentDepth = 100)');
  });

  it('refuses 100 000 levels without overflowing the stack', () => {
    expect(parseJsonText(deepArrays(100_000))).toMatchObject({ ok: false, problem: { limit: 'maxDocumentDepth' } });
  });

  it('reports malformed JSON as a syntax problem', () => {
    expect(parseJsonText('{"a": ')).toMatchObject({ ok: false, problem: { kind: 'syntax' } });
  });
});

describe('parseYamlText', () => {
  it('reads multi-document streams as before (empty documents are null)', () => {
    expect(parseYamlText('a: 1\n---\n---\nb: [x, {c: d}]\n')).toEqual({ ok: true, value: [{ a: 1 }, null, { b: ['x', { c: 'd' }] }] });
  });

  it('refuses flow and block nesting over the limit with the line and column, before composing it', () => {
    const flow = parseYamlText(`apiVersion: v1\nspec: {x: ${deepArrays(100_000)}}\n`);
    expect(flow).toMatchObject({ ok: false, problem: { kind: 'limit', limit: 'maxDocumentDepth', line: 2, index: 0 } });
    const block = parseYamlText(`a: 1\n---\nspec:\n  x:\n    ${'- '.repeat(100_000)}end\n`);
    expect(block).toMatchObject({ ok: false, problem: { kind: 'limit', limit: 'maxDocumentDepth', line: 5, index: 1 } });
    expect(parseYamlText(`x: ${deepArrays(99)}\n`)).toMatchObject({ ok: true });
  });

  it('refuses a billion laughs by the alias limit', () => {
    const r = parseYamlText(BILLION_LAUGHS);
    expect(r).toMatchObject({ ok: false, problem: { kind: 'limit', limit: 'maxYamlAliasCount' } });
    if (!r.ok) expect(r.problem.message).toBe('aliases expand more than 100 times (limit maxYamlAliasCount = 100)');
  });

  it('refuses an alias inside its own anchor (an infinitely deep value)', () => {
    expect(parseYamlText('a: &a [x, *a]\n')).toMatchObject({ ok: false, problem: { kind: 'limit', limit: 'maxDocumentDepth' } });
  });

  it('refuses aliases that expand past maxDocumentSize within the alias count (90 aliases of a 40 000-character string)', () => {
    const text = `s: &s ${'x'.repeat(40_000)}\nl: [${Array(90).fill('*s').join(', ')}]\n`;
    expect(text.length).toBeLessThan(41_000);
    expect(parseYamlText(text)).toMatchObject({ ok: false, problem: { kind: 'limit', limit: 'maxDocumentSize', field: expect.stringMatching(/^l\[\d+\]$/) } });
    expect(parseYamlText(`s: &s ${'x'.repeat(40_000)}\nl: [${Array(60).fill('*s').join(', ')}]\n`)).toMatchObject({ ok: true });
  });

  it('reports YAML syntax errors with their position', () => {
    expect(parseYamlText('a: [b\n  c: {')).toMatchObject({ ok: false, problem: { kind: 'syntax', line: expect.any(Number) } });
  });
});

describe('valueLimitProblem (validation of objects that did not come through a parser)', () => {
  it('finds the path where a value goes too deep, and cycles', () => {
    expect(valueLimitProblem({ metadata: { annotations: { a: nestedArray(200) } } })).toMatchObject({ limit: 'maxDocumentDepth', field: 'metadata.annotations.a[0][0][0][0][0][0][0][0][0]…' });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(valueLimitProblem(cyclic)).toMatchObject({ limit: 'maxDocumentDepth' });
    expect(valueLimitProblem({ a: [1, 'two', { three: null }] })).toBeUndefined();
  });

  it('makes validate() report a too-deep object as a field error instead of throwing', () => {
    const broker = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b' }, spec: { zzz: nestedArray(100_000) } };
    const r = validate(broker);
    expect(r.object).toBeUndefined();
    expect(r.errors).toEqual([{ field: 'spec.zzz[0][0][0][0][0][0][0][0][0][0]…', message: 'nested deeper than 100 levels (limit maxDocumentDepth = 100)' }]);
  });
});

describe('loadManifests and wisp apply -f with hostile files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-limits-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a billion-laughs file with a ManifestError naming the file, the document and the limit', async () => {
    const file = join(dir, 'laughs.yaml');
    await writeFile(file, BILLION_LAUGHS);
    const err = await loadManifests([file]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as Error).message).toBe(`${file}#0: aliases expand more than 100 times (limit maxYamlAliasCount = 100)`);
  });

  it('refuses a file nested 100 000 deep with file:line:column', async () => {
    const file = join(dir, 'deep.yaml');
    await writeFile(file, `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: b}\nspec: {x: ${deepArrays(100_000)}}\n`);
    await expect(loadManifests([file])).rejects.toThrow(new RegExp(`^${file}:4:\\d+: nested deeper than 100 levels \\(limit maxDocumentDepth = 100\\)$`));
  });

  it('wisp apply -f of a billion-laughs file exits 1 with one clear line and sends nothing', async () => {
    const file = join(dir, 'laughs.yaml');
    await writeFile(file, BILLION_LAUGHS);
    // Port 9 (discard) is never contacted: the file is refused while it is read.
    const res = await run(['apply', '-f', file, '--server', 'http://127.0.0.1:9'], { env: { WISP_TOKEN: 'a-test-token-of-16-chars' } });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toEqual([`wisp: ${file}#0: aliases expand more than 100 times (limit maxYamlAliasCount = 100)`]);
  });
});
