/**
 * Destinations (Knative's duckv1.Destination): a Trigger's subscriber, a delivery's deadLetterSink and every
 * source's sink. Knative's rules are the delivery module's (`validateDestination`); on top of them Wisp sends
 * events only over HTTP, so an absolute `uri` must be `http` or `https` (a `file:`, `ftp:` or `javascript:`
 * URI is refused where it is applied, with its field path). Pure.
 */
import { validateDeliverySpec, validateDestination } from '../../broker/delivery/index.js';
import type { FieldError } from './errors.js';

/** The URI schemes a destination may use: events are delivered with HTTP POST. */
export const DESTINATION_SCHEMES: readonly string[] = Object.freeze(['http', 'https']);

const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The scheme problem of `dest.uri` at `path`, if any (a relative `uri` joins a `ref`'s http URL and keeps its scheme). */
function schemeErrors(dest: unknown, path: string, known: readonly FieldError[]): FieldError[] {
  if (!isRecord(dest) || typeof dest['uri'] !== 'string') return [];
  const field = `${path}.uri`;
  // One message per field: Knative's rules already refused this URI (e.g. an absolute URI beside a ref).
  if (known.some((e) => e.field === field)) return [];
  const m = ABSOLUTE.exec(dest['uri']);
  if (!m) return [];
  const scheme = (m[1] as string).toLowerCase();
  if (DESTINATION_SCHEMES.includes(scheme)) return [];
  return [{ field, message: `unsupported URI scheme "${scheme}:" in ${JSON.stringify(dest['uri'])}: want ${DESTINATION_SCHEMES.join(' or ')} (events are delivered with HTTP POST)` }];
}

/** Errors of a required destination at `path` (a subscriber or a sink): missing, Knative's rules, the scheme. */
export function destinationErrors(dest: unknown, path: string): FieldError[] {
  if (dest === undefined) return [{ field: path, message: 'missing field(s)' }];
  const errs: FieldError[] = validateDestination(dest, path);
  return [...errs, ...schemeErrors(dest, path, errs)];
}

/** Errors of a DeliverySpec at `path` (`spec.delivery`), its deadLetterSink's scheme included. */
export function deliveryErrors(delivery: unknown, path: string): FieldError[] {
  if (delivery === undefined) return [];
  const errs: FieldError[] = validateDeliverySpec(delivery, path);
  const sink = isRecord(delivery) ? delivery['deadLetterSink'] : undefined;
  return [...errs, ...schemeErrors(sink, `${path}.deadLetterSink`, errs)];
}
