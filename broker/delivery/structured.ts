/**
 * Structured-mode HTTP message of a CloudEvent (`application/cloudevents+json`): every attribute and the data in
 * one JSON body. Pure: no I/O. Used when a binary-mode message would not reach the subscriber intact (see
 * message.ts): headers over MAX_BINARY_HEADER_BYTES, or binary data without a datacontenttype.
 *
 * Attributes are written as the SDK's `HTTP.structured` writes them (extensions keep their JSON type, `time`
 * normalised to UTC with milliseconds). The data is written from its exact bytes: an EventData of form `json`
 * verbatim as the `data` member (so big integers, `1.0`, key order and escapes survive), `text` as a JSON
 * string, `binary` as `data_base64`. Data that is not an EventData is written as the SDK does (bytes as
 * `data_base64`, anything else as a JSON value).
 */
import type { CloudEvent } from 'cloudevents';
import { isEventData } from '../event-data.js';
import { isoTime } from '../rfc3339.js';
import type { BinaryMessage } from './binary.js';

export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export function buildStructuredMessage(event: CloudEvent<unknown>): BinaryMessage {
  const attrs = event as unknown as Record<string, unknown>;
  let head = '{';
  for (const name of Object.getOwnPropertyNames(event)) {
    const value = attrs[name];
    if (value === undefined || value === null || name === 'data' || name === 'data_base64') continue;
    if (name === 'time') {
      if (value === '') continue;
      head += `${head.length > 1 ? ',' : ''}"time":${JSON.stringify(isoTime(value as string))}`;
    } else {
      head += `${head.length > 1 ? ',' : ''}${JSON.stringify(name)}:${JSON.stringify(value)}`;
    }
  }
  const headers = ['content-type', STRUCTURED_CONTENT_TYPE];
  const headerBytes = 'content-type'.length + STRUCTURED_CONTENT_TYPE.length + 4;
  const data = event.data;
  if (data === undefined || data === null) return { headers, body: `${head}}`, headerBytes };
  if (isEventData(data)) {
    if (data.form === 'json') return { headers, body: Buffer.concat([Buffer.from(`${head},"data":`), data.bytes, CLOSE]), headerBytes };
    if (data.form === 'text') return { headers, body: `${head},"data":${JSON.stringify(data.text())}}`, headerBytes };
    return { headers, body: `${head},"data_base64":"${data.bytes.toString('base64')}"}`, headerBytes };
  }
  if (ArrayBuffer.isView(data)) {
    return { headers, body: `${head},"data_base64":"${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')}"}`, headerBytes };
  }
  return { headers, body: `${head},"data":${JSON.stringify(data)}}`, headerBytes };
}

const CLOSE = Buffer.from('}');
