import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { binaryMessage, buildBinaryMessage, percentEncodeHeaderValue } from '../../../../broker/delivery/binary.js';

/** The SDK's binary message, as the sender used to put it on the wire (lower-case names, string values). */
function sdk(event: CloudEvent<unknown>): { headers: Record<string, string>; body: string | Buffer } {
  const msg = HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k.toLowerCase()] = String(v);
  const b = msg.body as unknown;
  const body = b === undefined || b === null ? '' : typeof b === 'string' ? b : ArrayBuffer.isView(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : JSON.stringify(b);
  return { headers, body };
}

function ours(event: CloudEvent<unknown>): { headers: Record<string, string>; body: string | Buffer } {
  const msg = buildBinaryMessage(event);
  const headers: Record<string, string> = {};
  for (let i = 0; i < msg.headers.length; i += 2) headers[msg.headers[i] as string] = msg.headers[i + 1] as string;
  expect(Object.keys(headers).length * 2).toBe(msg.headers.length);
  return { headers, body: msg.body };
}

const cases: Array<[string, CloudEvent<unknown>]> = [
  ['JSON object data, extensions of every type', new CloudEvent<unknown>({ id: 'e1', source: '/s', type: 't', data: { a: [1, 2], b: 'x' }, partitionkey: 'k', count: 3, flag: true })],
  ['no data', new CloudEvent<unknown>({ id: 'e2', source: '/s', type: 't' })],
  ['text data with a content type, subject, dataschema', new CloudEvent<unknown>({ id: 'e3', source: '/s', type: 't', datacontenttype: 'text/plain', data: 'hello', subject: 'sub', dataschema: 'https://example.com/s.json' })],
  ['binary data', new CloudEvent<unknown>({ id: 'e4', source: '/s', type: 't', datacontenttype: 'application/octet-stream', data: Buffer.from([0, 1, 255]) })],
  ['time with an offset (normalised to UTC)', new CloudEvent<unknown>({ id: 'e5', source: '/s', type: 't', time: '2024-05-01T12:00:00+02:00', data: 42 })],
  ['specversion 0.3 with schemaurl', new CloudEvent<unknown>({ specversion: '0.3', id: 'e6', source: '/s', type: 't', schemaurl: 'https://example.com/s', data: { v: 1 } })],
  ['cloned with knativearrivaltime, data kept', new CloudEvent<unknown>({ id: 'e7', source: '/s', type: 't', data: [1, 2, 3] }).cloneWith({ knativearrivaltime: '2024-05-01T10:00:00.000Z' }, false)],
];

describe('binary-mode message', () => {
  it.each(cases)('matches the SDK binding: %s', (_name, event) => {
    const want = sdk(event);
    const got = ours(event);
    expect(got.headers).toEqual(want.headers);
    expect(Buffer.from(got.body).equals(Buffer.from(want.body))).toBe(true);
  });

  it('percent-encodes ce- header values per the HTTP binding (space, quote, percent, non-ASCII), not content-type', () => {
    const event = new CloudEvent<unknown>({ id: 'id 1', source: '/s', type: 't', subject: 'Grüße "50%"', datacontenttype: 'text/plain; charset=utf-8', data: 'x' });
    const got = ours(event);
    expect(got.headers['ce-id']).toBe('id%201');
    expect(got.headers['ce-subject']).toBe('Gr%C3%BC%C3%9Fe%20%2250%25%22');
    expect(got.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(decodeURIComponent(got.headers['ce-subject'] ?? '')).toBe('Grüße "50%"');
  });

  it('leaves printable ASCII as it is', () => {
    expect(percentEncodeHeaderValue('/a/b?c=d&e=f!~')).toBe('/a/b?c=d&e=f!~');
    expect(percentEncodeHeaderValue('tab\there')).toBe('tab%09here');
    expect(percentEncodeHeaderValue('😀')).toBe('%F0%9F%98%80');
  });

  it('builds the message once per event and shares it between deliveries', () => {
    const event = new CloudEvent<unknown>({ id: 'e', source: '/s', type: 't', data: { a: 1 } });
    expect(binaryMessage(event)).toBe(binaryMessage(event));
  });
});
