/**
 * The CloudEvents SQL v1.0 TCK (test/fixtures/cesql-tck/*.yaml): every file, every case, one `it` each.
 * Without `event`, a minimal valid event is used (the TCK README: "any valid event"), with
 * `eventOverrides` applied on top of it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CesqlParseError, evaluateCesql, parseCesql, type CesqlError } from '../../../../broker/cesql/index.js';

interface TckCase {
  name: string;
  /** YAML reads unquoted `TRUE`, `0`, `-10` as scalars: the expression is their text. */
  expression: string | number | boolean;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
  result?: boolean | number | string;
  error?: string;
}

const TCK_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/cesql-tck');
const DEFAULT_EVENT = { specversion: '1.0', id: 'tck-id', source: '/tck/source', type: 'dev.wisp.tck' };

function run(c: TckCase): { value: boolean | number | string; errors: { kind: string }[] } {
  let expr;
  try {
    expr = parseCesql(String(c.expression));
  } catch (err) {
    if (err instanceof CesqlParseError) return { value: false, errors: [err] };
    throw err;
  }
  const event = { ...(c.event ?? DEFAULT_EVENT), ...(c.eventOverrides ?? {}) };
  const { value, errors } = evaluateCesql(expr, event);
  return { value, errors: errors as CesqlError[] };
}

const files = readdirSync(TCK_DIR).filter((f) => f.endsWith('.yaml')).sort();

it('finds the TCK files', () => {
  expect(files.length).toBeGreaterThanOrEqual(18);
});

for (const file of files) {
  const suite = parse(readFileSync(join(TCK_DIR, file), 'utf8')) as { name: string; tests: TckCase[] };
  describe(`${file}: ${suite.name}`, () => {
    for (const c of suite.tests) {
      it(`${file} / ${c.name}: ${c.expression}`, () => {
        const { value, errors } = run(c);
        if (c.error === undefined) {
          expect(errors.map((e) => e.kind)).toEqual([]);
        } else {
          expect(errors.length).toBeGreaterThan(0);
          expect(errors[0]?.kind).toBe(c.error);
        }
        if (c.result !== undefined) expect(value).toStrictEqual(c.result);
      });
    }
  });
}
