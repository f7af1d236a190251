/**
 * Validates raw CloudEvent context attributes (from ce-* headers or a structured JSON object); build-event.ts
 * turns them into an immutable SDK `CloudEvent`. Pure: no I/O, no clock.
 *
 * Why the checks happen before the SDK sees the attributes: the SDK's constructor invents an `id` (a UUID)
 * when it is missing, so "missing id" can only be detected on the raw input; it also cannot say which
 * attribute a name or type problem is about in a message a producer can act on.
 */
import { AttributeLimitError, InvalidEventError } from '../errors.js';
import { MAX_ATTRIBUTES, MAX_ATTRIBUTE_VALUE_BYTES } from '../limits.js';

export type SpecVersion = '1.0' | '0.3';

/** Attribute names: CloudEvents' lower-case ASCII letters and digits, at most 20 characters. */
export const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

const STRING_ATTRIBUTES: Record<SpecVersion, ReadonlySet<string>> = {
  '1.0': new Set(['id', 'source', 'specversion', 'type', 'datacontenttype', 'dataschema', 'subject', 'time']),
  '0.3': new Set(['id', 'source', 'specversion', 'type', 'datacontenttype', 'datacontentencoding', 'schemaurl', 'subject', 'time']),
};
const OTHER_VERSION_ONLY: Record<SpecVersion, string> = { '1.0': 'schemaurl', '0.3': 'dataschema' };
const REQUIRED = ['id', 'source', 'type'] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function invalid(reason: string): InvalidEventError {
  return new InvalidEventError(`invalid CloudEvent: ${reason}`);
}

/** A short, safe rendering of a producer's value for an error message. */
export function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

/**
 * Characters a CloudEvents String may not hold (spec §Type System, String): the control characters U+0000-U+001F and
 * U+007F-U+009F, Unicode noncharacters, and surrogates that are not part of a pair (they have no UTF-8 form). Such a
 * value cannot go into an HTTP header as the producer meant it (the delivery would be refused or altered), so the
 * ingress refuses the event instead of accepting one it cannot deliver.
 */
const DISALLOWED_CHARACTER = /[\p{Cc}\p{Noncharacter_Code_Point}\p{Cs}]/u;

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Checks `specversion` first: every other rule depends on it. */
export function checkSpecVersion(v: unknown): SpecVersion {
  if (v === undefined || v === null || v === '') throw invalid('missing required attribute "specversion"');
  if (v === '1.0' || v === '0.3') return v;
  if (typeof v === 'string') throw new InvalidEventError(`unsupported specversion ${show(v)}`);
  throw new InvalidEventError(`unsupported specversion ${show(v)} (expected the string "1.0" or "0.3")`);
}

/**
 * The size limits of broker/limits.ts, checked on the producer's raw attributes (data excluded) before anything
 * else is done with them: at most MAX_ATTRIBUTES attributes, none longer than MAX_ATTRIBUTE_VALUE_BYTES.
 * `status`: 431 when the attributes came as header fields (binary mode), 413 when in the body.
 */
export function checkLimits(attrs: Record<string, unknown>, status: 413 | 431, names: (attr: string) => string = (a) => `attribute "${a}"`): void {
  let count = 0;
  for (const name in attrs) {
    const value = attrs[name];
    if (value === undefined || value === null) continue;
    count++;
    if (typeof value === 'string' && value.length * 3 > MAX_ATTRIBUTE_VALUE_BYTES) {
      const bytes = Buffer.byteLength(value, 'utf8');
      if (bytes > MAX_ATTRIBUTE_VALUE_BYTES) {
        throw new AttributeLimitError(status, `${names(name)} is ${bytes} bytes long; an attribute value may have at most ${MAX_ATTRIBUTE_VALUE_BYTES} bytes`);
      }
    }
  }
  if (count > MAX_ATTRIBUTES) {
    throw new AttributeLimitError(status, `the event has ${count} attributes; at most ${MAX_ATTRIBUTES} (context attributes and extensions) are accepted`);
  }
}

/**
 * Validates every context attribute in `attrs` (data excluded) and returns them cleaned (null values dropped,
 * as the JSON format says null means absent). `names` maps an attribute to how the producer spelled it
 * (e.g. its header), for messages.
 */
export function checkAttributes(version: SpecVersion, attrs: Record<string, unknown>, names: (attr: string) => string = (a) => `attribute "${a}"`): Record<string, unknown> {
  const known = STRING_ATTRIBUTES[version];
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attrs)) {
    if (!ATTRIBUTE_NAME.test(name)) {
      throw invalid(`${names(name)}: attribute names must be 1 to 20 lower-case letters or digits, got ${show(name)}`);
    }
    if (value === null || value === undefined) continue;
    if (name === OTHER_VERSION_ONLY[version]) throw invalid(`${names(name)} is not allowed in specversion ${version}`);
    if (known.has(name)) {
      if (typeof value !== 'string' || value === '') throw invalid(`${names(name)} must be a non-empty string, got ${show(value)}`);
    } else if (!(typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value)))) {
      throw invalid(`${names(name)} (an extension) must be a string, an integer or a boolean, got ${show(value)}`);
    }
    if (typeof value === 'string') {
      const bad = DISALLOWED_CHARACTER.exec(value);
      if (bad) {
        throw invalid(
          `${names(name)} contains ${codePoint(bad[0])} at offset ${bad.index}: CloudEvents strings exclude control characters, noncharacters and unpaired surrogates`,
        );
      }
    }
    out[name] = value;
  }
  for (const name of REQUIRED) {
    if (out[name] === undefined) throw invalid(`missing required attribute "${name}"`);
  }
  const time = out['time'];
  if (typeof time === 'string' && (!RFC3339.test(time) || Number.isNaN(Date.parse(time)))) {
    throw invalid(`${names('time')} must be an RFC 3339 timestamp, got ${show(time)}`);
  }
  return out;
}
