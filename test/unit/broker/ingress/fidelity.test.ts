/**
 * Events exactly as sent, at the ingress: `ce-*` values percent-decoded, data kept byte for byte (never
 * parsed and re-serialised), and the attribute limits of broker/limits.ts refused with 431/413 and a reason.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inject as lightInject, type InjectOptions } from 'light-my-request';
import { MemoryBackend } from '../../../../broker/backends/index.js';
import { EventData } from '../../../../broker/event-data.js';
import { buildBrokerIngress, parseMessage, type BrokerIngress } from '../../../../broker/ingress/index.js';
import { batchDataSpans, dataSpan } from '../../../../broker/ingress/json-span.js';
import { MAX_ATTRIBUTES, MAX_ATTRIBUTE_VALUE_BYTES } from '../../../../broker/limits.js';
import type { StoredEvent } from '../../../../broker/types.js';
import { ManualClock } from '../../../support/clock.js';
import { waitFor } from '../../../support/wait.js';

const broker = { namespace: 'default', name: 'default' };
const bin = (extra: Record<string, string> = {}): Record<string, string> => ({ 'ce-specversion': '1.0', 'ce-id': 'e1', 'ce-source': '/s', 'ce-type': 't', ...extra });
const base = { specversion: '1.0', id: 'e1', source: '/s', type: 't' };
const CE_JSON = { 'content-type': 'application/cloudevents+json' };

/** The data of the one event in a message: its exact bytes and form. */
function dataOf(headers: Record<string, string>, body: string | Buffer): { text: string; bytes: number[]; form: string } | undefined {
  const events = parseMessage({ headers, body: Buffer.from(body) });
  expect(events).toHaveLength(1);
  const d: unknown = events[0]?.data;
  if (d === undefined) return undefined;
  expect(d).toBeInstanceOf(EventData);
  const data = d as EventData;
  return { text: data.bytes.toString('utf8'), bytes: [...data.bytes], form: data.form };
}

describe('ingress: ce-* header values are percent-decoded (HTTP binding §3.1.3.2)', () => {
  it('decodes UTF-8 escapes, %25 and %20 in every ce- header, not in content-type', () => {
    const [e] = parseMessage({
      headers: bin({ 'ce-subject': 'caf%C3%A9', 'ce-id': 'a%20b', 'ce-note': '100%25%20sure', 'ce-plain': '/a/b?c=d', 'content-type': 'text/plain; x=%41' }),
      body: Buffer.from('x'),
    });
    expect(e?.subject).toBe('café');
    expect(e?.id).toBe('a b');
    expect(e?.['note']).toBe('100% sure');
    expect(e?.['plain']).toBe('/a/b?c=d');
    expect(e?.datacontenttype).toBe('text/plain; x=%41');
  });

  it('raw UTF-8 bytes in a header (read by node:http as latin1) are taken as the UTF-8 they are', () => {
    const latin1 = Buffer.from('café', 'utf8').toString('latin1');
    const [e] = parseMessage({ headers: bin({ 'ce-subject': latin1, 'ce-other': 'caf\xe9' }), body: undefined });
    expect(e?.subject).toBe('café');
    expect(e?.['other']).toBe('caf\xe9');
  });

  it('a malformed escape is an InvalidEventError naming the header', () => {
    for (const bad of ['caf%', 'caf%zz', 'caf%C3']) {
      expect(() => parseMessage({ headers: bin({ 'ce-subject': bad }), body: undefined })).toThrow(/header "ce-subject": malformed percent-encoding/);
    }
  });
});

describe('ingress: attribute strings are CloudEvents Strings', () => {
  it('refuses control characters, noncharacters and unpaired surrogates, in any mode, naming the attribute and the code point', () => {
    const structured = (attrs: Record<string, string>) => parseMessage({ headers: CE_JSON, body: Buffer.from(JSON.stringify({ ...base, ...attrs })) });
    expect(() => structured({ datacontenttype: 'text/plain\u0000x' })).toThrow(/attribute "datacontenttype" contains U\+0000 at offset 10/);
    expect(() => structured({ subject: 'a\ud800b' })).toThrow(/attribute "subject" contains U\+D800 at offset 1/);
    expect(() => structured({ note: 'x\u0085' })).toThrow(/attribute "note" contains U\+0085/);
    expect(() => structured({ note: '\uffff' })).toThrow(/attribute "note" contains U\+FFFF/);
    expect(() => parseMessage({ headers: bin({ 'ce-subject': 'a%0Ab' }), body: undefined })).toThrow(/header "ce-subject" contains U\+000A/);
    // Paired surrogates (an emoji), and every other character, are fine.
    expect(structured({ subject: 'ok \ud83d\ude00 café' })[0]?.subject).toBe('ok 😀 café');
  });
});

describe('ingress: data is kept byte for byte', () => {
  it('binary mode: a JSON body is checked but kept as sent (big integers, 1.0, key order, whitespace, duplicate keys, \\u escapes)', () => {
    const body = '{ "b":12345678901234567890123,"a" : 1.0, "a":2, "s":"caf\\u00e9\\n" }';
    expect(dataOf(bin({ 'content-type': 'application/json' }), body)).toEqual({ text: body, bytes: [...Buffer.from(body)], form: 'json' });
    expect(dataOf(bin({ 'content-type': 'application/vnd.x+json; charset=utf-8' }), '12345678901234567890123')?.text).toBe('12345678901234567890123');
  });

  it('binary mode: invalid UTF-8 bytes are kept (not turned into U+FFFD), under any content type', () => {
    const bytes = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff, 0x00, 0x80]);
    expect(dataOf(bin({ 'content-type': 'application/octet-stream' }), bytes)).toMatchObject({ bytes: [...bytes], form: 'binary' });
    expect(dataOf(bin({ 'content-type': 'text/plain' }), bytes)).toMatchObject({ bytes: [...bytes], form: 'binary' });
    expect(dataOf(bin(), bytes)).toMatchObject({ bytes: [...bytes], form: 'binary' });
    expect(dataOf(bin({ 'content-type': 'text/plain' }), 'héllo')).toMatchObject({ text: 'héllo', form: 'text' });
  });

  it('structured mode: the raw text of the data member is kept', () => {
    const data = '{ "b" : 12345678901234567890123, "a":1.0,"a":[1.50, -0.0, 1e400],"e":"\\u00e9\\"data\\":1" }';
    const body = `{"specversion":"1.0","id":"e1","source":"/s","type":"t","datacontenttype":"application/json","data": ${data} ,"ext":"x"}`;
    expect(dataOf(CE_JSON, body)).toMatchObject({ text: data, form: 'json' });
    // No datacontenttype means JSON too; scalars keep their text.
    expect(dataOf(CE_JSON, JSON.stringify(base).replace(/}$/, ',"data":1.0}'))?.text).toBe('1.0');
    expect(dataOf(CE_JSON, JSON.stringify(base).replace(/}$/, ',"data":"caf\\u00e9"}'))?.text).toBe('"caf\\u00e9"');
  });

  it('structured mode: a string under a non-JSON datacontenttype is that text; data_base64 is the bytes', () => {
    expect(dataOf(CE_JSON, JSON.stringify({ ...base, datacontenttype: 'text/plain', data: 'caf\u00e9 "q"' }))).toMatchObject({ text: 'café "q"', form: 'text' });
    const bytes = [0, 0xe9, 0xff];
    expect(dataOf(CE_JSON, JSON.stringify({ ...base, data_base64: Buffer.from(bytes).toString('base64') }))).toMatchObject({ bytes, form: 'binary' });
  });

  it('structured mode: duplicate "data" keys take the last (as JSON.parse), an escaped key counts, nested "data" keys do not', () => {
    const body = '{"data":{"data":1},"specversion":"1.0","id":"e1","source":"/s","type":"t","subject":"\\"data\\":2","d\\u0061ta" : [ "x" , {"data":3}] }';
    expect(dataOf(CE_JSON, body)?.text).toBe('[ "x" , {"data":3}]');
    expect(dataSpan('{"a":{"data":1}}')).toBeUndefined();
  });

  it('batched mode: each event keeps the raw text of its own data', () => {
    const text = `[ {"specversion":"1.0","id":"1","source":"/s","type":"t","data":1.0}, {"specversion":"1.0","id":"2","source":"/s","type":"t"} ,{"data":{"n":12345678901234567890123},"specversion":"1.0","id":"3","source":"/s","type":"t"}]`;
    const events = parseMessage({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body: Buffer.from(text) });
    expect(events.map((e) => (e.data as EventData | undefined)?.bytes.toString())).toEqual(['1.0', undefined, '{"n":12345678901234567890123}']);
    const text2 = '[1, "x", {"data":null}]';
    const spans = batchDataSpans(text2);
    expect(spans.slice(0, 2)).toEqual([undefined, undefined]);
    expect(text2.slice(...(spans[2] ?? [0, 0]))).toBe('null');
  });

  it('a structured body that is not UTF-8 is refused (JSON must be UTF-8; binary data goes in data_base64)', () => {
    const body = Buffer.concat([Buffer.from(JSON.stringify(base).replace(/}$/, ',"data":"caf')), Buffer.from([0xe9]), Buffer.from('"}')]);
    expect(() => parseMessage({ headers: CE_JSON, body })).toThrow(/structured body is not valid UTF-8/);
  });
});

describe('ingress: attribute limits (broker/limits.ts)', () => {
  let backend: MemoryBackend;
  let app: BrokerIngress;
  let seen: StoredEvent[];
  const inject = (opts: Omit<InjectOptions, 'method' | 'url'>) => lightInject(app.handle, { method: 'POST', url: '/default/default', ...opts });

  beforeEach(async () => {
    const clock = new ManualClock();
    backend = new MemoryBackend({ clock });
    seen = [];
    await backend.ensureBroker(broker);
    await backend.subscribe({ broker, trigger: 'default/r', maxInFlight: 10 }, async (s) => {
      seen.push(s);
      return { kind: 'done' };
    });
    app = buildBrokerIngress({ lookup: () => ({ broker, backend }), clock, registry: new Registry() });
  });
  afterEach(async () => {
    await app.close();
    await backend.close();
  });

  it('a 20 KB extension is accepted (it is delivered in structured mode, see delivery/message.ts)', async () => {
    const res = await inject({ headers: CE_JSON, payload: JSON.stringify({ ...base, big: 'x'.repeat(20_000) }) });
    expect(res.statusCode).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(String(seen[0]?.event['big']).length).toBe(20_000);
  });

  it(`an attribute value over ${MAX_ATTRIBUTE_VALUE_BYTES} bytes → 413 (structured) / 431 (binary) naming the attribute and the limit`, async () => {
    const long = 'é'.repeat(MAX_ATTRIBUTE_VALUE_BYTES / 2 + 1);
    const s = await inject({ headers: CE_JSON, payload: JSON.stringify({ ...base, big: long }) });
    expect(s.statusCode).toBe(413);
    expect(s.json()).toEqual({ error: `event too large: attribute "big" is ${MAX_ATTRIBUTE_VALUE_BYTES + 2} bytes long; an attribute value may have at most ${MAX_ATTRIBUTE_VALUE_BYTES} bytes` });
    const b = await inject({ headers: bin({ 'ce-big': 'x'.repeat(MAX_ATTRIBUTE_VALUE_BYTES + 1) }) });
    expect(b.statusCode).toBe(431);
    expect(b.json().error).toContain(`header "ce-big" is ${MAX_ATTRIBUTE_VALUE_BYTES + 1} bytes long`);
    const exact = await inject({ headers: CE_JSON, payload: JSON.stringify({ ...base, big: 'x'.repeat(MAX_ATTRIBUTE_VALUE_BYTES) }) });
    expect(exact.statusCode).toBe(202);
  });

  it(`more than ${MAX_ATTRIBUTES} attributes → 413 (structured, batched) / 431 (binary) with the count and the limit`, async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 20_000; i++) many[`x${i}`] = 'v';
    const s = await inject({ headers: CE_JSON, payload: JSON.stringify({ ...base, ...many }) });
    expect(s.statusCode).toBe(413);
    expect(s.json()).toEqual({ error: `event too large: the event has 20004 attributes; at most ${MAX_ATTRIBUTES} (context attributes and extensions) are accepted` });
    const batch = await inject({ headers: { 'content-type': 'application/cloudevents-batch+json' }, payload: JSON.stringify([base, { ...base, ...many }]) });
    expect(batch.statusCode).toBe(413);
    expect(batch.json().error).toMatch(/^event too large: batch event \[1\]: the event has 20004 attributes/);
    const headers = bin();
    for (let i = 0; i < MAX_ATTRIBUTES; i++) headers[`ce-x${i}`] = 'v';
    const b = await inject({ headers });
    expect(b.statusCode).toBe(431);
    expect(b.json().error).toContain(`the event has ${MAX_ATTRIBUTES + 4} attributes`);
    const ok: Record<string, string> = {};
    for (let i = 0; i < MAX_ATTRIBUTES - 4; i++) ok[`x${i}`] = 'v';
    expect((await inject({ headers: CE_JSON, payload: JSON.stringify({ ...base, ...ok }) })).statusCode).toBe(202);
    expect(seen).toHaveLength(1);
  });

  it('a malformed percent-escape in a header → 400 naming the header', async () => {
    const res = await inject({ headers: bin({ 'ce-subject': 'caf%E9' }) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toContain('header "ce-subject": malformed percent-encoding in "caf%E9"');
  });
});
