/** Knative Broker schema and semantic validation (what Knative's Broker webhook checks). Pure. */
import { deliveryErrors } from './destination.js';
import type { FieldError } from './errors.js';
import { BROKER_CLASS_ANNOTATION, MAX_BACKLOG_ANNOTATION } from './labels.js';
import { dns1123SubdomainErrors } from './names.js';
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

/** Kafka's longest topic name. */
const KAFKA_MAX_TOPIC_LENGTH = 249;

/**
 * The Kafka class stores a Broker's events in topic `knative-broker-<namespace>-<name>` (Knative's name,
 * broker/backends/kafka/codec.ts `brokerTopic`). The class may come from the platform's default rather than the
 * annotation, so every Broker's name must leave that topic within Kafka's 249 characters.
 */
function topicNameErrors(broker: KObject): FieldError[] {
  const { namespace, name } = broker.metadata;
  const topic = `knative-broker-${namespace}-${name}`;
  if (topic.length <= KAFKA_MAX_TOPIC_LENGTH || dns1123SubdomainErrors(name).length > 0) return [];
  const max = KAFKA_MAX_TOPIC_LENGTH - `knative-broker-${namespace}-`.length;
  return [{ field: 'metadata.name', message: `must be no more than ${max} characters in namespace "${namespace}": the Kafka topic knative-broker-<namespace>-<name> is limited to ${KAFKA_MAX_TOPIC_LENGTH}` }];
}

/** Largest `wisp.dev/max-backlog` a Broker may ask for. */
export const MAX_BACKLOG_LIMIT = 100_000_000;

/** `wisp.dev/max-backlog` as an integer from 1 to 100 000 000, or why it is not one. Pure. */
export function maxBacklogOf(annotations: Readonly<Record<string, string>> | undefined): { limit?: number; problem?: string } {
  const raw = annotations?.[MAX_BACKLOG_ANNOTATION];
  if (raw === undefined) return {};
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_BACKLOG_LIMIT) return { limit: n };
  return { problem: `invalid value "${raw}": want an integer from 1 to ${MAX_BACKLOG_LIMIT} (events waiting per Trigger)` };
}

/** Semantic errors of a Broker whose shape already passed `brokerSchema` (and whose name is a DNS-1123 subdomain). */
export function brokerErrors(broker: KObject): FieldError[] {
  const errs: FieldError[] = topicNameErrors(broker);
  const cls = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  if (cls !== undefined && !BROKER_CLASSES.includes(cls)) {
    errs.push({ field: annotationField(BROKER_CLASS_ANNOTATION), message: `invalid value "${cls}": want one of ${BROKER_CLASSES.join(', ')}` });
  }
  const backlog = maxBacklogOf(broker.metadata.annotations);
  if (backlog.problem !== undefined) errs.push({ field: annotationField(MAX_BACKLOG_ANNOTATION), message: backlog.problem });
  const spec = (broker.spec ?? {}) as { delivery?: unknown };
  errs.push(...deliveryErrors(spec.delivery, 'spec.delivery'));
  return errs;
}
