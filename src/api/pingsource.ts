/** Knative PingSource (sources.knative.dev/v1) schema and semantic validation (what Knative's PingSource webhook checks). Pure. */
import { isKnownTimeZone, scheduleProblem } from '../importers/ping/schedule.js';
import { destinationSchema } from './broker.js';
import { destinationErrors } from './destination.js';
import type { FieldError } from './errors.js';
import type { JsonSchema } from './schema.js';
import { resourceSchema } from './schemas.js';
import type { KObject } from './types.js';
import { ceOverridesErrors } from './sources.js';

const str: JsonSchema = { type: 'string' };

export const pingSourceSchema: JsonSchema = resourceSchema({
  type: 'object',
  properties: {
    schedule: str,
    timezone: str,
    contentType: str,
    data: str,
    dataBase64: str,
    sink: destinationSchema,
    ceOverrides: { type: 'object', properties: { extensions: { type: 'object', additionalProperties: str } } },
  },
});

/** `application/json`, or any `+json` media type (parameters ignored). */
export function isJsonContentType(contentType: string): boolean {
  const media = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return media === 'application/json' || media.endsWith('+json');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface PingSpec {
  schedule?: string;
  timezone?: string;
  contentType?: string;
  data?: string;
  dataBase64?: string;
  sink?: unknown;
  ceOverrides?: { extensions?: Record<string, string> };
}

function payloadErrors(spec: PingSpec): FieldError[] {
  const errs: FieldError[] = [];
  const hasData = spec.data !== undefined && spec.data !== '';
  const hasB64 = spec.dataBase64 !== undefined && spec.dataBase64 !== '';
  if (hasData && hasB64) errs.push({ field: 'spec.data, spec.dataBase64', message: 'expected exactly one, got both' });
  if (hasB64 && !BASE64.test((spec.dataBase64 ?? '').replace(/\s+/g, ''))) {
    errs.push({ field: 'spec.dataBase64', message: 'invalid base64 data' });
  }
  if (hasData && !hasB64 && spec.contentType !== undefined && isJsonContentType(spec.contentType)) {
    try {
      JSON.parse(spec.data ?? '');
    } catch (err) {
      errs.push({ field: 'spec.data', message: `invalid JSON for contentType "${spec.contentType}": ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return errs;
}

/** Semantic errors of a PingSource whose shape already passed `pingSourceSchema`. */
export function pingSourceErrors(source: KObject): FieldError[] {
  if (source.spec === undefined) return [{ field: 'spec', message: 'missing field(s)' }];
  const spec = source.spec as PingSpec;
  const errs: FieldError[] = [];
  if (spec.schedule === undefined || spec.schedule.trim() === '') errs.push({ field: 'spec.schedule', message: 'missing field(s)' });
  else {
    const problem = scheduleProblem(spec.schedule);
    if (problem !== undefined) errs.push({ field: 'spec.schedule', message: `invalid cron schedule "${spec.schedule}": ${problem}` });
  }
  if (spec.timezone !== undefined && !isKnownTimeZone(spec.timezone)) errs.push({ field: 'spec.timezone', message: `unknown time zone "${spec.timezone}"` });
  errs.push(...payloadErrors(spec));
  errs.push(...destinationErrors(spec.sink, 'spec.sink'));
  errs.push(...ceOverridesErrors(spec.ceOverrides?.extensions));
  return errs;
}
