/**
 * DeliverySpec validation (Knative's webhook rules), defaulting and the Broker/Trigger override rule. Pure.
 */
import type { DeliverySpec, ResolvedDelivery } from '../types.js';
import {
  DEFAULT_BACKOFF_DELAY_MS,
  DEFAULT_BACKOFF_POLICY,
  DEFAULT_RETRY,
  DEFAULT_RETRY_AFTER_MAX_MS,
  DEFAULT_TIMEOUT_MS,
} from './defaults.js';
import { parseIsoDuration } from './duration.js';
import { InvalidDeliveryError } from './errors.js';

export interface FieldIssue {
  field: string;
  message: string;
}

const KNOWN_FIELDS: ReadonlySet<string> = new Set(['retry', 'backoffPolicy', 'backoffDelay', 'timeout', 'retryAfterMax', 'deadLetterSink']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `issue` for an ISO-8601 field, or undefined when valid. `positive`: must be > 0; otherwise >= 0. */
function durationIssue(value: unknown, positive: boolean): string | undefined {
  if (typeof value !== 'string') return `must be an ISO-8601 duration string, got ${JSON.stringify(value) ?? String(value)}`;
  const ms = parseIsoDuration(value);
  if (ms === undefined) return `invalid ISO-8601 duration ${JSON.stringify(value)}`;
  if (ms < 0) return `must not be negative, got ${JSON.stringify(value)}`;
  if (positive && ms === 0) return `must be greater than 0, got ${JSON.stringify(value)}`;
  return undefined;
}

/** Knative's duckv1.Destination rules: a `ref` (kind and name) or an absolute `uri`; with a `ref`, `uri` must be relative. */
export function validateDestination(dest: unknown, path: string): FieldIssue[] {
  if (!isRecord(dest)) return [{ field: path, message: 'must be an object with ref or uri' }];
  const issues: FieldIssue[] = [];
  const { ref, uri } = dest;
  if (ref === undefined && uri === undefined) return [{ field: path, message: 'expected exactly one, got neither: ref, uri' }];
  if (ref !== undefined) {
    if (!isRecord(ref)) issues.push({ field: `${path}.ref`, message: 'must be an object' });
    else {
      for (const key of ['kind', 'name'] as const) {
        const v = ref[key];
        if (typeof v !== 'string' || v === '') issues.push({ field: `${path}.ref.${key}`, message: 'missing field(s)' });
      }
      for (const key of ['apiVersion', 'namespace'] as const) {
        const v = ref[key];
        if (v !== undefined && typeof v !== 'string') issues.push({ field: `${path}.ref.${key}`, message: 'must be a string' });
      }
    }
  }
  if (uri !== undefined) {
    if (typeof uri !== 'string' || uri === '') issues.push({ field: `${path}.uri`, message: 'must be a non-empty string' });
    else {
      const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri);
      if (ref === undefined && !absolute) issues.push({ field: `${path}.uri`, message: `relative URI is not allowed without ref: ${JSON.stringify(uri)}` });
      else if (ref !== undefined && absolute) issues.push({ field: `${path}.uri`, message: `absolute URI is not allowed when ref is present: ${JSON.stringify(uri)}` });
      else if (absolute && !URL.canParse(uri)) issues.push({ field: `${path}.uri`, message: `invalid URI ${JSON.stringify(uri)}` });
    }
  }
  return issues;
}

/**
 * Knative's DeliverySpec.Validate: `retry` an integer >= 0, `backoffPolicy` exponential|linear,
 * `backoffDelay` and `retryAfterMax` non-negative ISO-8601 durations, `timeout` a duration > 0,
 * `deadLetterSink` a Destination. `path` is where the spec sits, e.g. `spec.delivery`.
 * Unknown fields are not reported here (the API layer warns about them).
 */
export function validateDeliverySpec(spec: unknown, path: string): FieldIssue[] {
  if (spec === undefined || spec === null) return [];
  if (!isRecord(spec)) return [{ field: path, message: 'must be an object' }];
  const issues: FieldIssue[] = [];
  const at = (f: string): string => `${path}.${f}`;
  if (spec.retry !== undefined) {
    const r = spec.retry;
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r > 2_147_483_647) {
      issues.push({ field: at('retry'), message: `must be an integer >= 0, got ${JSON.stringify(r) ?? String(r)}` });
    }
  }
  if (spec.backoffPolicy !== undefined && spec.backoffPolicy !== 'exponential' && spec.backoffPolicy !== 'linear') {
    issues.push({ field: at('backoffPolicy'), message: `must be one of exponential, linear, got ${JSON.stringify(spec.backoffPolicy) ?? String(spec.backoffPolicy)}` });
  }
  for (const [key, positive] of [
    ['backoffDelay', false],
    ['timeout', true],
    ['retryAfterMax', false],
  ] as const) {
    if (spec[key] === undefined) continue;
    const issue = durationIssue(spec[key], positive);
    if (issue !== undefined) issues.push({ field: at(key), message: issue });
  }
  if (spec.deadLetterSink !== undefined) issues.push(...validateDestination(spec.deadLetterSink, at('deadLetterSink')));
  return issues;
}

/** True when the spec sets at least one delivery field. */
function setsAnyField(spec: DeliverySpec | undefined): spec is DeliverySpec {
  if (spec === undefined) return false;
  return Object.entries(spec).some(([k, v]) => KNOWN_FIELDS.has(k) && v !== undefined);
}

/**
 * The DeliverySpec a Trigger runs with: the Broker's spec is the default, and a Trigger that sets ANY
 * delivery field replaces it entirely (fields are not merged).
 */
export function effectiveDelivery(brokerSpec: DeliverySpec | undefined, triggerSpec: DeliverySpec | undefined): DeliverySpec | undefined {
  if (setsAnyField(triggerSpec)) return triggerSpec;
  return brokerSpec;
}

function durationOr(spec: DeliverySpec, key: 'backoffDelay' | 'timeout' | 'retryAfterMax', fallback: number): number {
  const raw = spec[key];
  if (raw === undefined) return fallback;
  const issue = durationIssue(raw, key === 'timeout');
  if (issue !== undefined) throw new InvalidDeliveryError(`delivery.${key}`, issue);
  return parseIsoDuration(raw) ?? fallback;
}

/**
 * Applies the defaults (see defaults.ts) and converts durations to milliseconds. `deadLetterUri` is the
 * resolved `deadLetterSink` (resolution of a `ref` needs the control plane's view, so the caller does it).
 * Throws InvalidDeliveryError for a value `validateDeliverySpec` rejects.
 */
export function resolveDelivery(spec: DeliverySpec | undefined, deadLetterUri?: string): ResolvedDelivery {
  const s: DeliverySpec = spec ?? {};
  const retry = s.retry ?? DEFAULT_RETRY;
  if (!Number.isInteger(retry) || retry < 0) throw new InvalidDeliveryError('delivery.retry', `must be an integer >= 0, got ${retry}`);
  const policy = s.backoffPolicy ?? DEFAULT_BACKOFF_POLICY;
  if (policy !== 'exponential' && policy !== 'linear') throw new InvalidDeliveryError('delivery.backoffPolicy', `must be one of exponential, linear, got ${JSON.stringify(policy)}`);
  const resolved: ResolvedDelivery = {
    retry,
    backoffPolicy: policy,
    backoffDelayMs: durationOr(s, 'backoffDelay', DEFAULT_BACKOFF_DELAY_MS),
    timeoutMs: durationOr(s, 'timeout', DEFAULT_TIMEOUT_MS),
    retryAfterMaxMs: durationOr(s, 'retryAfterMax', DEFAULT_RETRY_AFTER_MAX_MS),
  };
  if (deadLetterUri !== undefined && deadLetterUri !== '') resolved.deadLetterUri = deadLetterUri;
  return Object.freeze(resolved);
}
