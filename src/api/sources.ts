import type { FieldError } from './errors.js';

/** CloudEvents attribute names: 1-20 lower-case letters or digits. */
const CE_ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
/** Context attributes a source sets itself; `ceOverrides` cannot replace them. */
const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set(['specversion', 'id', 'source', 'type', 'time', 'datacontenttype', 'dataschema', 'subject', 'data']);

/** Errors of a source's `spec.ceOverrides.extensions` (shared by every source kind). */
export function ceOverridesErrors(extensions: Record<string, string> | undefined): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of Object.keys(extensions ?? {})) {
    const field = `spec.ceOverrides.extensions[${key}]`;
    if (!CE_ATTRIBUTE_NAME.test(key)) errs.push({ field, message: 'invalid CloudEvents attribute name: want 1-20 lower-case letters or digits' });
    else if (RESERVED_ATTRIBUTES.has(key)) errs.push({ field, message: `cannot override the CloudEvents context attribute "${key}"` });
  }
  return errs;
}
