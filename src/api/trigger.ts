/** Knative Trigger schema and semantic validation (what Knative's Trigger webhook checks, plus Wisp's max-in-flight). Pure. */
import { validateTriggerFilters } from '../../broker/filters/index.js';
import { DELIVERY_ORDER_ANNOTATION, MAX_IN_FLIGHT_ANNOTATION } from '../../broker/types.js';
import { annotationField, deliverySchema, destinationSchema } from './broker.js';
import { deliveryErrors, destinationErrors } from './destination.js';
import { outOfBounds, type FieldError } from './errors.js';
import type { JsonSchema } from './schema.js';
import { resourceSchema } from './schemas.js';
import type { KObject } from './types.js';

/** The largest `wisp.dev/max-in-flight` a Trigger may ask for. */
export const MAX_IN_FLIGHT_LIMIT = 10_000;

const str: JsonSchema = { type: 'string' };

export const triggerSchema: JsonSchema = resourceSchema({
  type: 'object',
  properties: {
    broker: str,
    filter: { type: 'object', properties: { attributes: { type: 'object', additionalProperties: str } } },
    // Each element's dialects are checked (with their own messages) by the filters module.
    filters: { type: 'array', items: { anyValue: true } },
    subscriber: destinationSchema,
    delivery: deliverySchema,
  },
});

/** Problems with the `wisp.dev/max-in-flight` annotation value (absent = fine). */
export function maxInFlightErrors(value: string | undefined): FieldError[] {
  if (value === undefined) return [];
  const field = annotationField(MAX_IN_FLIGHT_ANNOTATION);
  if (!/^\d+$/.test(value.trim())) return [{ field, message: `invalid value "${value}": want a positive integer (1 gives arrival-order delivery)` }];
  const n = Number(value.trim());
  if (n < 1 || n > MAX_IN_FLIGHT_LIMIT) return [{ field, message: `invalid value "${value}": ${outOfBounds(n, 1, MAX_IN_FLIGHT_LIMIT)}` }];
  return [];
}

/** Semantic errors of a Trigger whose shape already passed `triggerSchema`. */
export function triggerErrors(trigger: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = (trigger.spec ?? {}) as { broker?: string; subscriber?: unknown; delivery?: unknown };
  if (trigger.spec === undefined) return [{ field: 'spec', message: 'missing field(s)' }];
  if (spec.broker === undefined || spec.broker === '') errs.push({ field: 'spec.broker', message: 'missing field(s)' });
  errs.push(...destinationErrors(spec.subscriber, 'spec.subscriber'));
  errs.push(...validateTriggerFilters(trigger.spec, 'spec'));
  errs.push(...deliveryErrors(spec.delivery, 'spec.delivery'));
  errs.push(...maxInFlightErrors(trigger.metadata.annotations?.[MAX_IN_FLIGHT_ANNOTATION]));
  const order = trigger.metadata.annotations?.[DELIVERY_ORDER_ANNOTATION];
  if (order !== undefined && order !== 'ordered' && order !== 'unordered') {
    errs.push({ field: annotationField(DELIVERY_ORDER_ANNOTATION), message: `must be "ordered" or "unordered", was "${order}"` });
  }
  return errs;
}
