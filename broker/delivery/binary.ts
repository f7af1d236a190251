/**
 * Binary-mode HTTP message of a CloudEvent, built straight from its attributes. Pure: no I/O.
 *
 * This is the hot path of every delivery, so it does not go through the SDK's `HTTP.binary` (which builds
 * and copies several objects and parses `time` per call); it produces the same message, checked against
 * `HTTP.binary` in test/unit/broker/delivery/binary.test.ts (STYLE rule 12: measured in bench:broker):
 *  - `content-type` from `datacontenttype`, else `application/json; charset=utf-8` (the SDK's default);
 *  - `ce-<attr>` for every other attribute and extension (not `data`/`data_base64`); `time` normalised to
 *    UTC ISO-8601 with milliseconds (`new Date(time).toISOString()`), as the SDK does;
 *  - data: an EventData (what the ingress and the reply parser produce) as its exact bytes; other data as the
 *    SDK writes it: objects (not byte arrays) JSON-serialised, strings as they are, bytes as bytes;
 *  - one difference from the SDK: `ce-` header values are percent-encoded as the CloudEvents HTTP binding
 *    (§3.1.3.2) requires — space, `"`, `%` and every character outside U+0021..U+007E, as UTF-8 bytes —
 *    where the SDK sends them raw (and undici then refuses non-ASCII values). Plain ASCII values, the
 *    usual case, are untouched.
 * Whether an event goes out in this mode or in structured mode is decided in message.ts (`headerBytes` is
 * what it compares with MAX_BINARY_HEADER_BYTES).
 */
import type { CloudEvent } from 'cloudevents';
import { isEventData } from '../event-data.js';
import { isoTime } from '../rfc3339.js';

export const DEFAULT_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Header names and values, flat (`[name, value, name, value, ...]`), as undici takes them. */
export interface BinaryMessage {
  readonly headers: readonly string[];
  readonly body: string | Buffer;
  /** Bytes of these header lines on the wire (`name: value\r\n` each). */
  readonly headerBytes: number;
}

/** Characters a `ce-` header value may carry unencoded: U+0021..U+007E except `"` and `%`. */
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7E]/;

/** Percent-encodes a header value per the CloudEvents HTTP binding (§3.1.3.2). */
export function percentEncodeHeaderValue(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const ch of value) {
    if (!NEEDS_ENCODING.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

const cache = new WeakMap<CloudEvent<unknown>, BinaryMessage>();

/** The event's binary-mode message (cached per event). Throws when the data cannot be serialised. Deliveries use message.ts. */
export function binaryMessage(event: CloudEvent<unknown>): BinaryMessage {
  let msg = cache.get(event);
  if (msg === undefined) {
    msg = buildBinaryMessage(event);
    cache.set(event, msg);
  }
  return msg;
}

export function buildBinaryMessage(event: CloudEvent<unknown>): BinaryMessage {
  const headers: string[] = ['content-type', DEFAULT_CONTENT_TYPE];
  const attrs = event as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(event)) {
    const value = attrs[name];
    if (value === undefined || name === 'data' || name === 'data_base64') continue;
    if (name === 'datacontenttype') {
      headers[1] = String(value);
    } else if (name === 'time') {
      // The SDK writes time only when truthy, normalised to UTC.
      if (value !== '' && value !== null) headers.push('ce-time', percentEncodeHeaderValue(isoTime(value as string)));
    } else {
      headers.push(`ce-${name}`, percentEncodeHeaderValue(String(value)));
    }
  }
  let headerBytes = 0;
  for (let i = 0; i < headers.length; i += 2) headerBytes += (headers[i] as string).length + (headers[i + 1] as string).length + 4;
  return { headers, body: bodyOf(event.data), headerBytes };
}

function bodyOf(data: unknown): string | Buffer {
  if (data === undefined || data === null) return '';
  if (isEventData(data)) return data.bytes;
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Objects (and, as the SDK passes them on, numbers and booleans) go out as JSON.
  return JSON.stringify(data);
}
