/**
 * The delivery message: binary mode with the data's exact bytes, or structured mode when binary mode would not
 * bring the event intact (headers over MAX_BINARY_HEADER_BYTES, binary data without datacontenttype). Each is
 * read back with the CloudEvents SDK's receiver (`HTTP.toEvent`), as a subscriber would.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { buildDeliveryMessage, deliveryMessage } from '../../../../broker/delivery/message.js';
import { EventData } from '../../../../broker/event-data.js';
import { parseMessage } from '../../../../broker/ingress/parse.js';
import { MAX_BINARY_HEADER_BYTES } from '../../../../broker/limits.js';

const CE_JSON = { 'content-type': 'application/cloudevents+json' };
const base = { specversion: '1.0', id: 'e1', source: '/s', type: 't' };

function ingress(headers: Record<string, string>, body: string | Buffer): CloudEvent<unknown> {
  const [e] = parseMessage({ headers, body: Buffer.from(body) });
  if (e === undefined) throw new Error('no event');
  return e;
}

/** The message as a receiver gets it: lower-case header names, the body bytes. */
function wire(event: CloudEvent<unknown>): { mode: string; headers: Record<string, string>; body: Buffer } {
  const msg = buildDeliveryMessage(event);
  const headers: Record<string, string> = {};
  for (let i = 0; i < msg.headers.length; i += 2) headers[msg.headers[i] as string] = msg.headers[i + 1] as string;
  return { mode: msg.mode, headers, body: Buffer.from(msg.body) };
}

describe('delivery message: data byte for byte', () => {
  it('binary mode: the body is the exact bytes received, whatever a JSON round trip would do to them', () => {
    const json = '{ "n": 12345678901234567890123, "f": 1.0, "k":1, "k":2, "e":"\\u00e9" }';
    const e = ingress({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' }, json);
    expect(wire(e)).toMatchObject({ mode: 'binary', body: Buffer.from(json) });
    const bytes = Buffer.from([0xe9, 0xff, 0x00, 0x80]);
    const b = ingress({ 'ce-specversion': '1.0', 'ce-id': '2', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/octet-stream' }, bytes);
    expect(wire(b)).toMatchObject({ mode: 'binary', body: bytes });
  });

  it('binary mode: a structured event\'s raw data text becomes the body; no datacontenttype means application/json', () => {
    const e = ingress(CE_JSON, '{"specversion":"1.0","id":"1","source":"/s","type":"t","data":  [1.0, 12345678901234567890123]  }');
    const w = wire(e);
    expect(w.mode).toBe('binary');
    expect(w.body.toString()).toBe('[1.0, 12345678901234567890123]');
    expect(w.headers['content-type']).toBe('application/json; charset=utf-8');
    const t = wire(ingress(CE_JSON, JSON.stringify({ ...base, datacontenttype: 'text/plain', data: 'café' })));
    expect([t.mode, t.headers['content-type'], t.body.toString()]).toEqual(['binary', 'text/plain', 'café']);
  });

  it('percent-decoded at the ingress, percent-encoded again once on the way out', () => {
    const e = ingress({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-subject': 'caf%C3%A9' }, '');
    expect(e.subject).toBe('café');
    expect(wire(e).headers['ce-subject']).toBe('caf%C3%A9');
  });
});

describe('delivery message: structured mode when binary mode would not arrive intact', () => {
  it('data_base64 without datacontenttype goes structured, and the SDK receiver reads back the same event', () => {
    const bytes = Buffer.from([0, 1, 0xe9, 0xff]);
    const e = ingress(CE_JSON, JSON.stringify({ ...base, data_base64: bytes.toString('base64'), ext: 'v' }));
    const w = wire(e);
    expect(w.mode).toBe('structured');
    expect(w.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    const got = HTTP.toEvent({ headers: w.headers, body: w.body.toString() }) as CloudEvent<unknown>;
    expect(got.data_base64).toBe(bytes.toString('base64'));
    expect(got).toMatchObject({ id: 'e1', source: '/s', type: 't', ext: 'v' });
    expect(got.datacontenttype).toBeUndefined();
    // The same event in binary mode would say application/json, and the SDK's receiver fails on the text body.
    const sdkBinary = HTTP.binary(new CloudEvent<unknown>({ ...base, data: bytes }));
    expect(sdkBinary.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(() => HTTP.toEvent({ headers: sdkBinary.headers, body: bytes.toString('utf8') })).toThrow(/JSON/);
  });

  it('a binary-mode body without content-type also goes structured (data_base64)', () => {
    const e = ingress({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' }, Buffer.from([0xc3, 0x28]));
    const w = wire(e);
    expect(w.mode).toBe('structured');
    expect(JSON.parse(w.body.toString())).toMatchObject({ id: '1', data_base64: Buffer.from([0xc3, 0x28]).toString('base64') });
  });

  it(`headers over ${MAX_BINARY_HEADER_BYTES} bytes go structured; the raw data is kept verbatim as the data member`, () => {
    const data = '{"n":12345678901234567890123, "f":1.0}';
    const big = 'é'.repeat(10_000);
    const e = ingress(CE_JSON, `{"specversion":"1.0","id":"e1","source":"/s","type":"t","big":${JSON.stringify(big)},"count":3,"flag":true,"time":"2026-01-02T03:04:05Z","data":${data}}`);
    const w = wire(e);
    expect(w.mode).toBe('structured');
    const text = w.body.toString();
    expect(text).toContain(`"data":${data}}`);
    const got = HTTP.toEvent({ headers: w.headers, body: text }) as CloudEvent<unknown>;
    expect(got).toMatchObject({ id: 'e1', big, count: 3, flag: true, time: '2026-01-02T03:04:05.000Z' });
    // Just under the limit stays binary.
    const small = ingress(CE_JSON, JSON.stringify({ ...base, big: 'x'.repeat(7_000), data: 1 }));
    expect(wire(small).mode).toBe('binary');
    expect(buildDeliveryMessage(small).headerBytes).toBeLessThanOrEqual(MAX_BINARY_HEADER_BYTES);
  });

  it('text data in structured mode is a JSON string; binary data is data_base64', () => {
    const big = { big: 'x'.repeat(9_000) };
    const t = ingress(CE_JSON, JSON.stringify({ ...base, ...big, datacontenttype: 'text/plain', data: 'café "q"' }));
    expect(JSON.parse(wire(t).body.toString())).toMatchObject({ datacontenttype: 'text/plain', data: 'café "q"' });
    const b = ingress({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-big': big.big, 'content-type': 'image/png' }, Buffer.from([0x89, 0x50]));
    expect(JSON.parse(wire(b).body.toString())).toMatchObject({ datacontenttype: 'image/png', data_base64: Buffer.from([0x89, 0x50]).toString('base64') });
  });

  it('events built in code (not EventData) keep the SDK shapes, and are cached per event', () => {
    const obj = new CloudEvent<unknown>({ ...base, data: { a: 1 } });
    expect(wire(obj)).toMatchObject({ mode: 'binary', body: Buffer.from('{"a":1}') });
    // Bytes built in code without a datacontenttype (a KafkaSource's JSON record value) stay in binary mode, as the SDK sends them.
    const bytes = new CloudEvent<unknown>({ ...base, data: Buffer.from('[1]') });
    expect(wire(bytes)).toMatchObject({ mode: 'binary', body: Buffer.from('[1]') });
    const big = new CloudEvent<unknown>({ ...base, big: 'x'.repeat(9_000), data: Buffer.from([1, 2]) });
    expect(JSON.parse(wire(big).body.toString())).toMatchObject({ data_base64: 'AQI=' });
    expect(deliveryMessage(obj)).toBe(deliveryMessage(obj));
    const withData = new CloudEvent<unknown>({ ...base, data: new EventData(Buffer.from('1.0'), 'json') });
    expect(wire(withData).body.toString()).toBe('1.0');
  });
});
