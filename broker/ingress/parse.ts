/**
 * Turns one HTTP request (headers + raw body bytes) into the CloudEvents it carries: binary mode (ce-*
 * headers, any content type for the data), structured (`application/cloudevents+json`) and batched
 * (`application/cloudevents-batch+json`, all-or-nothing). CloudEvents 1.0 and 0.3. Pure: no I/O, no clock.
 * Every rejection is an InvalidEventError (400) or UnsupportedMediaTypeError (415) with a reason.
 *
 * Header values are taken verbatim (no percent-decoding), as the cloudevents SDK writes them.
 */
import type { CloudEvent } from 'cloudevents';
import { InvalidEventError, UnsupportedMediaTypeError } from '../errors.js';
import { checkAttributes, checkSpecVersion, invalid, show, toCloudEvent, type SpecVersion } from './attributes.js';

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
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
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
export function parseMessage(msg: IngressMessage, stamp?: Readonly<Record<string, string>>): CloudEvent<unknown>[] {
  const contentType = header(msg.headers, 'content-type');
  switch (contentMode(contentType)) {
    case 'binary':
      return [parseBinary(msg.headers, contentType, msg.body, stamp)];
    case 'structured':
      return [parseStructuredObject(parseJson(msg.body, 'structured body'), stamp)];
    case 'batch':
      return parseBatch(parseJson(msg.body, 'batch body'), stamp);
  }
}

function header(headers: IngressMessage['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function parseBinary(headers: IngressMessage['headers'], contentType: string | undefined, body: Uint8Array | undefined, stamp: Stamp): CloudEvent<unknown> {
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
    raw[lower.slice(CE_PREFIX.length)] = header(headers, name);
  }
  if (contentType !== undefined && contentType !== '') raw['datacontenttype'] = contentType;
  const attrs = checkAttributes(version, raw, (a) => (a === 'datacontenttype' && contentType ? 'header "content-type"' : `header "${CE_PREFIX}${a}"`));
  return toCloudEvent(attrs, binaryData(body, contentType), stamp);
}

/**
 * Binary-mode data: JSON media types are parsed (objects and arrays become values; a JSON scalar keeps its
 * exact text so it goes out on the wire unchanged); text/* becomes a string; anything else stays bytes.
 */
function binaryData(body: Uint8Array | undefined, contentType: string | undefined): unknown {
  if (body === undefined || body.length === 0) return undefined;
  const media = mediaType(contentType);
  if (isJsonMedia(media)) {
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw invalid(`data is not valid JSON for content type ${show(media)}: ${errorMessage(err)}`);
    }
    return typeof value === 'object' && value !== null ? value : text;
  }
  if (media.startsWith('text/')) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return Uint8Array.from(body);
}

function isJsonMedia(media: string): boolean {
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

function parseJson(body: Uint8Array | undefined, what: string): unknown {
  if (body === undefined || body.length === 0) throw new InvalidEventError(`${what} is not valid JSON: the body is empty`);
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new InvalidEventError(`${what} is not valid JSON: ${errorMessage(err)}`);
  }
}

function parseBatch(value: unknown, stamp: Stamp): CloudEvent<unknown>[] {
  if (!Array.isArray(value)) throw invalid(`a batch body must be a JSON array, got ${jsonKind(value)}`);
  return value.map((element, i) => {
    try {
      return parseStructuredObject(element, stamp);
    } catch (err) {
      if (err instanceof InvalidEventError) throw new InvalidEventError(`batch event [${i}]: ${err.message}`);
      throw err;
    }
  });
}

function parseStructuredObject(value: unknown, stamp: Stamp): CloudEvent<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`a structured event must be a JSON object, got ${jsonKind(value)}`);
  }
  const { data, data_base64: dataBase64, ...rest } = value as Record<string, unknown>;
  const version = checkSpecVersion(rest['specversion']);
  const attrs = checkAttributes(version, rest);
  return toCloudEvent(attrs, structuredData(version, attrs, data, dataBase64), stamp);
}

function structuredData(version: SpecVersion, attrs: Record<string, unknown>, data: unknown, dataBase64: unknown): unknown {
  const hasData = data !== undefined && data !== null;
  if (dataBase64 !== undefined && dataBase64 !== null) {
    if (version !== '1.0') throw invalid('attribute "data_base64" is not allowed in specversion 0.3 (use datacontentencoding: base64)');
    if (hasData) throw invalid('both "data" and "data_base64" are set');
    return decodeBase64(dataBase64, 'data_base64');
  }
  if (version === '0.3' && attrs['datacontentencoding'] === 'base64') {
    delete attrs['datacontentencoding'];
    return hasData ? decodeBase64(data, 'data') : undefined;
  }
  return hasData ? data : undefined;
}

function decodeBase64(v: unknown, name: string): Uint8Array {
  const s = typeof v === 'string' ? v.replace(/\s+/g, '') : undefined;
  if (s === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) {
    throw invalid(`attribute "${name}" must be a base64 string, got ${show(v)}`);
  }
  return Uint8Array.from(Buffer.from(s, 'base64'));
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
