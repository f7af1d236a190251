/**
 * Turns one HTTP request (headers + raw body bytes) into the CloudEvents it carries: binary mode (ce-*
 * headers, any content type for the data), structured (`application/cloudevents+json`) and batched
 * (`application/cloudevents-batch+json`, all-or-nothing). CloudEvents 1.0 and 0.3. Pure: no I/O, no clock.
 * Every rejection is an InvalidEventError (400), UnsupportedMediaTypeError (415) or AttributeLimitError
 * (431 binary, 413 structured/batched: broker/limits.ts) with a reason.
 *
 * `ce-*` header values are percent-decoded, as the CloudEvents HTTP binding (§3.1.3.2) says; a malformed
 * escape is a 400 naming the header. The data is kept as the exact bytes sent (an EventData, see
 * ../event-data.ts): a binary-mode body as it is, a structured event's `data` as the raw JSON text of the
 * member (found by json-span.ts), `data_base64` decoded. Replies are parsed here too (dispatcher/reply.ts).
 */
import type { CloudEvent } from 'cloudevents';
import { AttributeLimitError, InvalidEventError, UnsupportedMediaTypeError } from '../errors.js';
import { EventData, isJsonMedia, isUtf8Bytes, mediaTypeOf } from '../event-data.js';
import { checkAttributes, checkLimits, checkSpecVersion, invalid, show, type SpecVersion } from './attributes.js';
import { fastCloudEvent, type EventBuilder } from './build-event.js';
import { batchDataSpans, dataSpan, type Span } from './json-span.js';

export type ContentMode = 'binary' | 'structured' | 'batch';

export interface IngressMessage {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Uint8Array | undefined;
}

const CE_PREFIX = 'ce-';

type Stamp = Readonly<Record<string, string>> | undefined;
const REQUIRED_HEADERS = ['ce-specversion', 'ce-id', 'ce-source', 'ce-type'] as const;

/** The media type (lower-cased, parameters dropped), or '' without a Content-Type. */
export function mediaType(contentType: string | undefined): string {
  return mediaTypeOf(contentType);
}

/** Structured and batched modes are recognised by media type; anything else is binary mode. */
export function contentMode(contentType: string | undefined): ContentMode {
  const media = mediaType(contentType);
  if (media.startsWith('application/cloudevents-batch')) {
    if (media === 'application/cloudevents-batch+json') return 'batch';
    throw new UnsupportedMediaTypeError(contentType ?? '');
  }
  if (media.startsWith('application/cloudevents')) {
    if (media === 'application/cloudevents+json') return 'structured';
    throw new UnsupportedMediaTypeError(contentType ?? '');
  }
  return 'binary';
}

/**
 * The events of one request. `stamp`: attributes the receiver sets on every event after validation, over any
 * the producer sent (the ingress's `knativearrivaltime`), so each event is built once.
 */
export function parseMessage(msg: IngressMessage, stamp?: Readonly<Record<string, string>>, build: EventBuilder = fastCloudEvent): CloudEvent<unknown>[] {
  const contentType = header(msg.headers, 'content-type');
  switch (contentMode(contentType)) {
    case 'binary':
      return [parseBinary(msg.headers, contentType, msg.body, stamp, build)];
    case 'structured': {
      const { text, value } = parseJson(msg.body, 'structured body');
      return [parseStructuredObject(value, rawData(text, value, dataSpan), stamp, build)];
    }
    case 'batch': {
      const { text, value } = parseJson(msg.body, 'batch body');
      return parseBatch(text, value, stamp, build);
    }
  }
}

/** The raw text of the `data` member of `value` (parsed from `text`), when it has one. */
function rawData(text: string, value: unknown, find: (text: string) => Span | undefined): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const data = (value as Record<string, unknown>)['data'];
  if (data === undefined || data === null) return undefined;
  const span = find(text);
  return span === undefined ? undefined : text.slice(span[0], span[1]);
}

function header(headers: IngressMessage['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function parseBinary(headers: IngressMessage['headers'], contentType: string | undefined, body: Uint8Array | undefined, stamp: Stamp, build: EventBuilder): CloudEvent<unknown> {
  for (const name of REQUIRED_HEADERS) {
    const v = header(headers, name);
    if (v === undefined || v.trim() === '') {
      throw invalid(`missing required header "${name}" (binary mode; for structured mode send Content-Type: application/cloudevents+json)`);
    }
  }
  const version = checkSpecVersion(header(headers, 'ce-specversion'));
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith(CE_PREFIX)) continue;
    const value = header(headers, name);
    raw[lower.slice(CE_PREFIX.length)] = value === undefined ? undefined : percentDecode(lower, value);
  }
  if (contentType !== undefined && contentType !== '') raw['datacontenttype'] = contentType;
  const names = (a: string): string => (a === 'datacontenttype' && contentType ? 'header "content-type"' : `header "${CE_PREFIX}${a}"`);
  checkLimits(raw, 431, names);
  const attrs = checkAttributes(version, raw, names);
  return build(attrs, binaryData(body, contentType), stamp);
}

const NON_ASCII = /[\x80-\xff]/;

/**
 * Percent-decodes a `ce-` header value (HTTP binding §3.1.3.2); a malformed escape or UTF-8 sequence is a 400.
 * A producer that sent raw UTF-8 bytes instead (node:http reads header bytes as latin1) gets them read as
 * the UTF-8 they are, so they are not delivered as mojibake.
 */
export function percentDecode(headerName: string, value: string): string {
  if (NON_ASCII.test(value)) {
    const bytes = Buffer.from(value, 'latin1');
    if (isUtf8Bytes(bytes)) value = bytes.toString('utf8');
  }
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalid(`header "${headerName}": malformed percent-encoding in ${show(value)} (values are percent-encoded UTF-8, e.g. caf%C3%A9)`);
  }
}

/** Copies `body` (it may be a slice of a larger network buffer that must not be kept alive). */
function ownBytes(body: Uint8Array): Buffer {
  return Buffer.from(body);
}

/**
 * Binary-mode data, byte for byte. A JSON media type is still checked to be JSON (the subscriber's SDK would
 * fail on it otherwise); text/* in valid UTF-8 is `text`, anything else `binary`.
 */
function binaryData(body: Uint8Array | undefined, contentType: string | undefined): EventData | undefined {
  if (body === undefined || body.length === 0) return undefined;
  const media = mediaType(contentType);
  const bytes = ownBytes(body);
  if (isJsonMedia(media)) {
    const utf8 = isUtf8Bytes(bytes);
    try {
      JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw invalid(`data is not valid JSON for content type ${show(media)}: ${errorMessage(err)}`);
    }
    return new EventData(bytes, utf8 ? 'json' : 'binary');
  }
  if (media.startsWith('text/') && isUtf8Bytes(bytes)) return new EventData(bytes, 'text');
  return new EventData(bytes, 'binary');
}

function parseJson(body: Uint8Array | undefined, what: string): { text: string; value: unknown } {
  if (body === undefined || body.length === 0) throw new InvalidEventError(`${what} is not valid JSON: the body is empty`);
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // JSON is UTF-8 (RFC 8259 §8.1); decoding anything else would silently change the event's bytes.
  if (!isUtf8Bytes(bytes)) throw new InvalidEventError(`${what} is not valid UTF-8 (JSON must be UTF-8; send binary data as data_base64)`);
  const text = bytes.toString('utf8');
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch (err) {
    throw new InvalidEventError(`${what} is not valid JSON: ${errorMessage(err)}`);
  }
}

function parseBatch(text: string, value: unknown, stamp: Stamp, build: EventBuilder): CloudEvent<unknown>[] {
  if (!Array.isArray(value)) throw invalid(`a batch body must be a JSON array, got ${jsonKind(value)}`);
  const spans = value.some((e) => typeof e === 'object' && e !== null && (e as Record<string, unknown>)['data'] !== undefined) ? batchDataSpans(text) : [];
  return value.map((element, i) => {
    try {
      const span = spans[i];
      return parseStructuredObject(element, span === undefined ? undefined : text.slice(span[0], span[1]), stamp, build);
    } catch (err) {
      if (err instanceof InvalidEventError) throw new InvalidEventError(`batch event [${i}]: ${err.message}`);
      if (err instanceof AttributeLimitError) throw err.inBatch(i);
      throw err;
    }
  });
}

/** `rawDataText`: the exact JSON text of the object's `data` member, when it has one. */
function parseStructuredObject(value: unknown, rawDataText: string | undefined, stamp: Stamp, build: EventBuilder): CloudEvent<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`a structured event must be a JSON object, got ${jsonKind(value)}`);
  }
  const { data, data_base64: dataBase64, ...rest } = value as Record<string, unknown>;
  checkLimits(rest, 413);
  const version = checkSpecVersion(rest['specversion']);
  const attrs = checkAttributes(version, rest);
  return build(attrs, structuredData(version, attrs, data, dataBase64, rawDataText), stamp);
}

/**
 * Structured-mode data, as sdk-go reads it: under a JSON (or no) datacontenttype the raw text of the member;
 * under another type a JSON string is that string's value (`text`), anything else its raw JSON text.
 */
function structuredData(version: SpecVersion, attrs: Record<string, unknown>, data: unknown, dataBase64: unknown, rawDataText: string | undefined): EventData | undefined {
  const hasData = data !== undefined && data !== null;
  if (dataBase64 !== undefined && dataBase64 !== null) {
    if (version !== '1.0') throw invalid('attribute "data_base64" is not allowed in specversion 0.3 (use datacontentencoding: base64)');
    if (hasData) throw invalid('both "data" and "data_base64" are set');
    return new EventData(decodeBase64(dataBase64, 'data_base64'), 'binary');
  }
  if (version === '0.3' && attrs['datacontentencoding'] === 'base64') {
    delete attrs['datacontentencoding'];
    return hasData ? new EventData(decodeBase64(data, 'data'), 'binary') : undefined;
  }
  if (!hasData) return undefined;
  const contentType = attrs['datacontenttype'];
  const json = typeof contentType !== 'string' || isJsonMedia(mediaType(contentType));
  if (!json && typeof data === 'string') return new EventData(Buffer.from(data, 'utf8'), 'text');
  return new EventData(Buffer.from(rawDataText ?? JSON.stringify(data), 'utf8'), 'json');
}

function decodeBase64(v: unknown, name: string): Buffer {
  const s = typeof v === 'string' ? v.replace(/\s+/g, '') : undefined;
  if (s === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) {
    throw invalid(`attribute "${name}" must be a base64 string, got ${show(v)}`);
  }
  return Buffer.from(s, 'base64');
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
