/** JSON-schema shape checks (ajv) and unknown-field detection for resource objects. Pure: no I/O. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError } from './errors.js';

/** The subset of JSON Schema the resource schemas use. */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, JsonSchema>;
  /** `false`/absent = unknown keys are warned about; a schema = a map whose values all fit it. */
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  required?: string[];
  enum?: readonly (string | number | boolean)[];
  /** Any value (no checks, no unknown-field warnings below). */
  anyValue?: true;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** Strips our `anyValue` marker so ajv sees plain JSON Schema. */
function toAjv(schema: JsonSchema): Record<string, unknown> {
  if (schema.anyValue) return {};
  const out: Record<string, unknown> = {};
  if (schema.type) out['type'] = schema.type;
  if (schema.enum) out['enum'] = schema.enum;
  if (schema.required) out['required'] = schema.required;
  if (schema.items) out['items'] = toAjv(schema.items);
  if (schema.properties) out['properties'] = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, toAjv(v)]));
  if (typeof schema.additionalProperties === 'object') out['additionalProperties'] = toAjv(schema.additionalProperties);
  return out;
}

/** `/spec/containers/0/ports` → `spec.containers[0].ports`. */
export function pointerToField(pointer: string): string {
  if (!pointer) return '';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isInteger(value)) return 'integer';
  return typeof value;
}

function toFieldError(err: ErrorObject): FieldError {
  const base = pointerToField(err.instancePath);
  if (err.keyword === 'required') {
    const missing = String((err.params as { missingProperty?: unknown }).missingProperty ?? '');
    return { field: base ? `${base}.${missing}` : missing, message: 'missing field(s)' };
  }
  if (err.keyword === 'type') {
    const want = String((err.params as { type?: unknown }).type ?? '');
    return { field: base, message: `expected ${want}, got ${describe(err.data)}` };
  }
  if (err.keyword === 'enum') {
    const allowed = (err.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return { field: base, message: `invalid value ${JSON.stringify(err.data)}, want one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` };
  }
  return { field: base, message: err.message ?? `invalid value (${err.keyword})` };
}

/** Type and shape errors of `value` against `schema`, with field paths. */
export function checkShape(schema: JsonSchema, value: unknown): FieldError[] {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(toAjv(schema));
    compiled.set(schema, fn);
  }
  if (fn(value)) return [];
  return (fn.errors ?? []).map(toFieldError);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Paths of fields present in `value` that `schema` does not know, e.g. `spec.template.spec.foo`. */
export function unknownFields(schema: JsonSchema, value: unknown, path = ''): string[] {
  if (schema.anyValue) return [];
  const out: string[] = [];
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => out.push(...unknownFields(schema.items as JsonSchema, item, `${path}[${i}]`)));
  } else if (isPlainObject(value) && (schema.properties || schema.additionalProperties !== undefined)) {
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      const known = schema.properties?.[key];
      if (known) out.push(...unknownFields(known, child, childPath));
      else if (typeof schema.additionalProperties === 'object') out.push(...unknownFields(schema.additionalProperties, child, childPath));
      else if (schema.additionalProperties !== true) out.push(childPath);
    }
  }
  return out;
}

/** Knative-style message for an unknown field. */
export function unknownFieldWarning(path: string): string {
  return `unknown field "${path}"`;
}
