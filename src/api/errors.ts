/** Typed errors of the resource layer. They become HTTP statuses only at the control API's edge. */

export interface FieldError {
  /** Dotted/bracket path, e.g. `spec.template.spec.containers[0].image`. */
  field: string;
  message: string;
}

/** A manifest that cannot be read or parsed: YAML syntax, a document that is not a resource, an unknown kind. */
export class ManifestError extends Error {
  readonly code = 'WISP_ERR_MANIFEST';
  readonly statusCode = 400;
  readonly retriable = false;
  /** File path as given (or `-` for stdin). */
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(opts: { file: string; message: string; line?: number; column?: number; cause?: unknown }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ManifestError';
    this.file = opts.file;
    this.line = opts.line;
    this.column = opts.column;
  }
}

/** Every code this component throws, documented. */
export const API_ERROR_CODES: Readonly<Record<string, string>> = Object.freeze({
  WISP_ERR_MANIFEST: 'A manifest file could not be read or parsed, or holds a document that is not a known resource.',
  WISP_ERR_CONFIG_DEFAULTS: 'The config-defaults ConfigMap has a key that does not parse or is out of range (400).',
});

/** `config-defaults: data.revision-timeout-seconds: invalid value "abc": want an integer` (issues joined by `; `). */
export class ServingDefaultsError extends Error {
  readonly code = 'WISP_ERR_CONFIG_DEFAULTS';
  readonly statusCode = 400;
  readonly retriable = false;
  readonly issues: readonly FieldError[];

  constructor(issues: readonly FieldError[]) {
    super(issues.map((i) => `config-defaults: ${i.field}: ${i.message}`).join('; '));
    this.name = 'ServingDefaultsError';
    this.issues = issues;
  }
}

/** Joins a path prefix and a (possibly empty or bracketed) sub-field. */
export function joinField(prefix: string, field: string): string {
  if (!field) return prefix;
  if (!prefix) return field;
  if (field.startsWith('[')) return `${prefix}${field}`;
  if (field === prefix || field.startsWith(`${prefix}.`) || field.startsWith(`${prefix}[`)) return field;
  return `${prefix}.${field}`;
}

/** `expected 0 <= -1 <= 1000`, Knative's out-of-bounds message. */
export function outOfBounds(value: number, min: number, max: number): string {
  return `expected ${min} <= ${value} <= ${max}`;
}
