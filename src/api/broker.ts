/** Knative Broker schema and semantic validation (what Knative's Broker webhook checks). Pure. */
import { validateDeliverySpec } from '../../broker/delivery/index.js';
import type { FieldError } from './errors.js';
import { BROKER_CLASS_ANNOTATION } from './labels.js';
import type { JsonSchema } from './schema.js';
import { resourceSchema } from './schemas.js';
import type { KObject } from './types.js';

/** Every broker class a Wisp platform may serve; a process serves those it has a backend for. */
export const BROKER_CLASSES: readonly string[] = Object.freeze(['MTChannelBasedBroker', 'Memory', 'Redis', 'Kafka']);

const str: JsonSchema = { type: 'string' };
const anyValue: JsonSchema = { anyValue: true };

/** duckv1.KReference */
export const kReferenceSchema: JsonSchema = {
  type: 'object',
  properties: { apiVersion: str, kind: str, name: str, namespace: str },
};

/** duckv1.Destination; types of `uri`/`ref` are checked, the rules across them live with each kind. */
export const destinationSchema: JsonSchema = {
  type: 'object',
  properties: { ref: kReferenceSchema, uri: str },
};

/** eventingduckv1.DeliverySpec: value rules are the delivery module's (validateDeliverySpec). */
export const deliverySchema: JsonSchema = {
  type: 'object',
  properties: {
    retry: anyValue,
    backoffPolicy: anyValue,
    backoffDelay: anyValue,
    timeout: anyValue,
    retryAfterMax: anyValue,
    deadLetterSink: destinationSchema,
  },
};

export const brokerSchema: JsonSchema = resourceSchema({
  type: 'object',
  properties: {
    config: { type: 'object', properties: { apiVersion: str, kind: str, name: str, namespace: str } },
    delivery: deliverySchema,
  },
});

/** Field path of an annotation, e.g. `metadata.annotations[eventing.knative.dev/broker.class]`. */
export function annotationField(key: string): string {
  return `metadata.annotations[${key}]`;
}

/** Semantic errors of a Broker whose shape already passed `brokerSchema`. */
export function brokerErrors(broker: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const cls = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  if (cls !== undefined && !BROKER_CLASSES.includes(cls)) {
    errs.push({ field: annotationField(BROKER_CLASS_ANNOTATION), message: `invalid value "${cls}": want one of ${BROKER_CLASSES.join(', ')}` });
  }
  const spec = (broker.spec ?? {}) as { delivery?: unknown };
  if (spec.delivery !== undefined) errs.push(...validateDeliverySpec(spec.delivery, 'spec.delivery'));
  return errs;
}
