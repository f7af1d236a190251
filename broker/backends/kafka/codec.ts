/**
 * CloudEvent ⇄ Kafka record in binary content mode, as Knative's Kafka broker stores events: attributes and
 * extensions as `ce_<name>` headers, `content-type` = datacontenttype, the data bytes as the record value and
 * the `partitionkey` extension as the record key. Headers come from the CloudEvents SDK's `Kafka.binary`.
 *
 * One Wisp header, `wisp_data`, records the shape the in-process event's data had, so an event comes back
 * exactly as published. An EventData (every event from the ingress or a reply) is `raw-json`, `raw-text` or
 * `raw-binary` (its form): the record value is its exact bytes, and it comes back as the same EventData, never
 * parsed. Data built in code is `json` (an object stays an object even without a datacontenttype), `string`
 * or `bytes`. Records without the header (written by other producers) are read as an EventData by content
 * type: JSON (when it is valid JSON in UTF-8), `text/*` in UTF-8 as text, anything else binary.
 * Pure: no I/O.
 */
import { CloudEvent, Kafka } from 'cloudevents';
import { EventData, isEventData, isJsonMedia, isUtf8Bytes, mediaTypeOf, type DataForm } from '../../event-data.js';

export const DATA_SHAPE_HEADER = 'wisp_data';
type DataShape = 'json' | 'string' | 'bytes' | `raw-${DataForm}`;
const RAW_FORMS: Readonly<Record<string, DataForm>> = { 'raw-json': 'json', 'raw-text': 'text', 'raw-binary': 'binary' };

/** The parts of a record the backend produces and consumes (kafkajs's `Message` / `KafkaMessage` fit). */
export interface EncodedRecord {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export function encodeEvent(event: CloudEvent<unknown>): EncodedRecord {
  const message = Kafka.binary(event);
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(message.headers)) {
    if (v === undefined || v === null) continue;
    headers[name] = typeof v === 'string' ? v : String(v);
  }
  const { value, shape } = encodeData(event.data);
  if (shape !== undefined) headers[DATA_SHAPE_HEADER] = shape;
  const key = event['partitionkey'];
  return { key: key === undefined || key === null ? null : String(key), value, headers };
}

function encodeData(data: unknown): { value: Buffer | null; shape?: DataShape } {
  if (data === undefined || data === null) return { value: null };
  if (isEventData(data)) return { value: data.bytes, shape: `raw-${data.form}` };
  if (data instanceof Uint8Array) return { value: Buffer.from(data.buffer, data.byteOffset, data.byteLength), shape: 'bytes' };
  if (data instanceof ArrayBuffer) return { value: Buffer.from(data), shape: 'bytes' };
  if (typeof data === 'string') return { value: Buffer.from(data, 'utf8'), shape: 'string' };
  return { value: Buffer.from(JSON.stringify(data), 'utf8'), shape: 'json' };
}

/** A consumed record's headers as kafkajs hands them (values are Buffers, strings or arrays of them). */
export type RawHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

export function decodeEvent(record: { key: Buffer | string | null; value: Buffer | null; headers?: RawHeaders }): CloudEvent<unknown> {
  const headers = flattenHeaders(record.headers ?? {});
  const attrs: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(headers)) {
    if (name.startsWith('ce_')) attrs[name.slice(3)] = v;
  }
  const contentType = headers['ce_datacontenttype'] ?? headers['content-type'];
  if (contentType !== undefined) attrs['datacontenttype'] = contentType;
  if (attrs['partitionkey'] === undefined && record.key !== null) attrs['partitionkey'] = record.key.toString();
  const data = decodeData(record.value, headers[DATA_SHAPE_HEADER], contentType);
  return new CloudEvent<unknown>({ ...attrs, ...(data === undefined ? {} : { data }) } as ConstructorParameters<typeof CloudEvent<unknown>>[0], false);
}

function decodeData(value: Buffer | null, shape: string | undefined, contentType: string | undefined): unknown {
  if (value === null) return undefined;
  const form = shape === undefined ? undefined : RAW_FORMS[shape];
  if (form !== undefined) return new EventData(value, form);
  if (shape === 'bytes') return value;
  if (shape === 'string') return value.toString('utf8');
  if (shape === 'json') return JSON.parse(value.toString('utf8')) as unknown;
  return new EventData(value, foreignForm(value, mediaTypeOf(contentType)));
}

/** The form of a record value written by another producer, from its content type. */
function foreignForm(value: Buffer, media: string): DataForm {
  if (!isUtf8Bytes(value)) return 'binary';
  if (isJsonMedia(media)) {
    try {
      JSON.parse(value.toString('utf8'));
      return 'json';
    } catch {
      return 'binary';
    }
  }
  return media.startsWith('text/') ? 'text' : 'binary';
}

function flattenHeaders(raw: RawHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(raw)) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one === undefined) continue;
    out[name.toLowerCase()] = typeof one === 'string' ? one : one.toString('utf8');
  }
  return out;
}

/** Knative's names: the broker's topic and a trigger's consumer group. */
export function brokerTopic(namespace: string, name: string): string {
  return `knative-broker-${namespace}-${name}`;
}

/** `trigger` is `<namespace>/<name>`. */
export function triggerGroupId(trigger: string): string {
  const slash = trigger.indexOf('/');
  return slash === -1 ? `knative-trigger-${trigger}` : `knative-trigger-${trigger.slice(0, slash)}-${trigger.slice(slash + 1)}`;
}
