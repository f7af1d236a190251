/**
 * The CloudEvent a KafkaSource emits for one Kafka record (Knative eventing-kafka-broker's KafkaSource dispatcher).
 * Pure: no I/O, no clock (the record's own timestamp is the event's time).
 *
 * - A record already in CloudEvents form passes through as it is, read with the CloudEvents SDK's Kafka binding:
 *   binary mode (`ce_` headers, `content-type` = datacontenttype) or structured mode (`content-type:
 *   application/cloudevents+json`). The key becomes `partitionkey`, as the binding says.
 * - Any other record (and one that looks like a CloudEvent but is not a valid one) is wrapped, as Knative's
 *   InvalidCloudEventInterceptor does: type `dev.knative.kafka.event`, source
 *   `/apis/v1/namespaces/<ns>/kafkasources/<name>#<topic>`, subject `partition:<p>#<offset>`, id
 *   `partition:<p>/offset:<o>`, time = the record's timestamp, the key as extensions `key` and `partitionkey`,
 *   every other header as extension `kafkaheader<name>` (name lower-cased, characters other than a-z and 0-9
 *   removed) and the `content-type` header as datacontenttype (lower-cased). Data: the value's bytes.
 * - `spec.ceOverrides.extensions` are set on every event, replacing what the record carried.
 *
 * Two Wisp choices where Knative's Java stack differs (both so that a Wisp Broker, whose ingress holds CloudEvents
 * to 20-character attribute names and parses JSON bodies, accepts every wrapped record):
 * - a `kafkaheader<name>` longer than 20 characters is cut to 20 (when two headers end up with one name, the
 *   later header wins, as repeated headers do in Knative);
 * - a record without a `content-type` header whose value is not JSON gets datacontenttype
 *   `application/octet-stream` (Knative leaves it unset; Wisp's HTTP sender would label it JSON).
 */
import { CloudEvent, Kafka } from 'cloudevents';

export const KAFKA_EVENT_TYPE = 'dev.knative.kafka.event';
/** Longest CloudEvents attribute name (the CloudEvents spec's advice; Wisp's broker ingress enforces it). */
export const MAX_ATTRIBUTE_NAME = 20;
const HEADER_EXTENSION_PREFIX = 'kafkaheader';
const OCTET_STREAM = 'application/octet-stream';

/** A record as kafkajs hands it (`KafkaMessage` fits), with where it came from. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  /** The record's offset (kafkajs: a decimal string). */
  offset: string;
  /** Milliseconds since the epoch (kafkajs: a decimal string). */
  timestamp: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
}

/** What the mapping needs of a source. */
export interface KafkaEventSpec {
  namespace: string;
  name: string;
  /** `spec.ceOverrides.extensions`. */
  extensions?: Readonly<Record<string, string>>;
}

/** `/apis/v1/namespaces/<ns>/kafkasources/<name>#<topic>`: the source of a wrapped record. */
export function kafkaSourceUri(namespace: string, name: string, topic: string): string {
  return `/apis/v1/namespaces/${namespace}/kafkasources/${name}#${topic}`;
}

/**
 * The default consumer group of a source: stable across restarts, so a restarted platform resumes where the
 * source left off. (Knative generates one from the source's UID; Wisp's store keeps no UID across delete and
 * re-create, and the name is what a user can find in Kafka's tools.)
 */
export function defaultConsumerGroup(namespace: string, name: string): string {
  return `knative-kafka-source-${namespace}-${name}`;
}

/** A header name as a CloudEvents extension: `kafkaheader` + the name lower-cased with anything but a-z0-9 removed, at most 20 characters. */
export function headerExtensionName(header: string): string {
  const cleaned = [...header.toLowerCase()].filter((c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')).join('');
  return `${HEADER_EXTENSION_PREFIX}${cleaned}`.slice(0, MAX_ATTRIBUTE_NAME);
}

const text = (v: Buffer | string): string => (typeof v === 'string' ? v : v.toString('utf8'));

/** Header values as strings; a repeated header keeps its last value. Names keep their case. */
function headerStrings(raw: KafkaRecord['headers']): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, v] of Object.entries(raw ?? {})) {
    if (v === undefined) continue;
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (last !== undefined) out.push([name, text(last)]);
  }
  return out;
}

const asBuffer = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

function isJson(bytes: Buffer): boolean {
  if (bytes.length === 0) return false;
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** Drops attributes whose value is undefined or null (the SDK copies `partitionkey: undefined` otherwise). */
function defined(attrs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined && v !== null));
}

/** The record as a CloudEvent when it is one (binary or structured mode, valid), else undefined. */
export function passthroughEvent(record: KafkaRecord): CloudEvent<unknown> | undefined {
  const headers: Record<string, string> = {};
  for (const [name, v] of headerStrings(record.headers)) headers[name.toLowerCase()] = v;
  const key = record.key === null ? undefined : text(record.key);
  const message = { headers, key: key as string, value: record.value === null ? Buffer.alloc(0) : asBuffer(record.value), body: undefined };
  if (!Kafka.isEvent(message)) return undefined;
  try {
    const parsed = Kafka.toEvent(message);
    const event = Array.isArray(parsed) ? undefined : (parsed as CloudEvent<unknown>);
    if (event === undefined) return undefined;
    const attrs = defined({ ...event });
    // A binary-mode record without a value has no data (the binding would hand an empty buffer).
    if (record.value === null || (Buffer.isBuffer(attrs['data']) && (attrs['data'] as Buffer).length === 0)) {
      delete attrs['data'];
      delete attrs['data_base64'];
    }
    const out = new CloudEvent<unknown>(attrs as ConstructorParameters<typeof CloudEvent<unknown>>[0], false);
    out.validate();
    return out;
  } catch {
    // Not a valid CloudEvent (missing type or source, bad time, bad JSON...): Knative wraps it.
    return undefined;
  }
}

/** The record wrapped as a `dev.knative.kafka.event`. */
export function wrappedEvent(spec: KafkaEventSpec, record: KafkaRecord): CloudEvent<unknown> {
  const attrs: Record<string, unknown> = {};
  let contentType: string | undefined;
  for (const [name, value] of headerStrings(record.headers)) {
    if (name.toLowerCase() === 'content-type') contentType = value.toLowerCase();
    else attrs[headerExtensionName(name)] = value;
  }
  if (record.key !== null) {
    const key = text(record.key);
    attrs['key'] = key;
    attrs['partitionkey'] = key;
  }
  const value = record.value === null ? undefined : asBuffer(record.value);
  const datacontenttype = contentType ?? (value !== undefined && !isJson(value) ? OCTET_STREAM : undefined);
  const ms = Number(record.timestamp);
  Object.assign(attrs, {
    specversion: '1.0',
    id: `partition:${record.partition}/offset:${record.offset}`,
    type: KAFKA_EVENT_TYPE,
    source: kafkaSourceUri(spec.namespace, spec.name, record.topic),
    subject: `partition:${record.partition}#${record.offset}`,
    ...(Number.isFinite(ms) && ms >= 0 ? { time: new Date(ms).toISOString() } : {}),
    ...(datacontenttype !== undefined ? { datacontenttype } : {}),
    ...(value !== undefined ? { data: value } : {}),
  });
  return new CloudEvent<unknown>(attrs as ConstructorParameters<typeof CloudEvent<unknown>>[0], false);
}

/** The event for one record: passed through or wrapped, with `ceOverrides.extensions` applied. */
export function recordToEvent(spec: KafkaEventSpec, record: KafkaRecord): CloudEvent<unknown> {
  const event = passthroughEvent(record) ?? wrappedEvent(spec, record);
  const overrides = spec.extensions;
  if (overrides === undefined || Object.keys(overrides).length === 0) return event;
  return event.cloneWith({ ...overrides }, false);
}
