/**
 * The control API's JSON and YAML body parsers: text to a plain value within the input limits
 * (src/api/limits.ts), or a 400 `BadRequestError` that says what is wrong, where, and which limit was hit.
 * They never throw: Fastify's content-type parser callbacks hand the result to `done`.
 */
import { parseJsonText, parseYamlText, problemWhere, type DocumentProblem } from '../api/documents.js';
import { INPUT_LIMITS, type InputLimits } from '../api/limits.js';
import { BadRequestError } from './errors.js';

export type BodyParseResult = { error: null; value: unknown } | { error: BadRequestError; value: undefined };

function failure(format: 'JSON' | 'YAML', problem: DocumentProblem): BodyParseResult {
  const what = problem.kind === 'syntax' ? `malformed ${format} body` : `${format} body refused`;
  const reason = (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return { error: new BadRequestError({ message: `${what}${problemWhere(problem)}: ${reason}`, cause: problem }), value: undefined };
}

/** `application/json` bodies. */
export function parseJsonBody(text: string, limits: InputLimits = INPUT_LIMITS): BodyParseResult {
  const r = parseJsonText(text, limits);
  return r.ok ? { error: null, value: r.value } : failure('JSON', r.problem);
}

/** `application/yaml` bodies: exactly one document (an empty body is `null`, which the routes refuse). */
export function parseYamlBody(text: string, limits: InputLimits = INPUT_LIMITS): BodyParseResult {
  const r = parseYamlText(text, limits);
  if (!r.ok) return failure('YAML', r.problem);
  if (r.value.length > 1) {
    return failure('YAML', { kind: 'syntax', message: `the body holds ${r.value.length} YAML documents; send one object per request` });
  }
  return { error: null, value: r.value[0] ?? null };
}
