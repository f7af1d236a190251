import { describe, expect, it } from 'vitest';
import { CloudEvent, Kafka } from 'cloudevents';
import { brokerTopic, decodeEvent, encodeEvent, triggerGroupId } from '../../../../broker/backends/kafka/codec.js';
import * as redis from '../../../../broker/backends/redis/codec.js';
import { EventData } from '../../../../broker/event-data.js';
import { parseMessage } from '../../../../broker/ingress/parse.js';

/** Headers as kafkajs hands them to a consumer: Buffers. */
function asConsumed(r: ReturnType<typeof encodeEvent>): Parameters<typeof decodeEvent>[0] {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = Buffer.from(v, 'utf8');
  return { key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers };
}

describe('Kafka record codec (binary content mode)', () => {
  it('writes ce_ headers, content-type, the partitionkey as key and the data bytes as value', () => {
    const e = new CloudEvent({
      id: 'e1',
      type: 'dev.wisp.t',
      source: '/s',
      time: '2026-01-02T03:04:05Z',
      datacontenttype: 'application/json',
      data: { a: 1 },
      partitionkey: 'order-42',
      priority: 7,
    });
    const r = encodeEvent(e as CloudEvent<unknown>);
    expect(r.key).toBe('order-42');
    expect(r.value?.toString()).toBe('{"a":1}');
    expect(r.headers).toMatchObject({
      ce_id: 'e1',
      ce_type: 'dev.wisp.t',
      ce_source: '/s',
      ce_specversion: '1.0',
      ce_time: '2026-01-02T03:04:05Z',
      'content-type': 'application/json',
      ce_partitionkey: 'order-42',
      ce_priority: '7',
    });
    expect(Object.values(r.headers).every((v) => typeof v === 'string')).toBe(true);
    expect(r.headers).not.toHaveProperty('ce_subject');
  });

  it('round-trips attributes, extensions and data of every shape exactly', () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 255, 10, 13]);
    const cases: Array<CloudEvent<unknown>> = [
      new CloudEvent<unknown>({ id: '1', type: 't', source: '/s', data: { n: 1, list: [1, 'x'], none: null } }),
      new CloudEvent<unknown>({ id: '2', type: 't', source: '/s', data: 'plain text' }),
      new CloudEvent<unknown>({ id: '3', type: 't', source: '/s', datacontenttype: 'application/json', data: '{"kept":"as a string"}' }),
      new CloudEvent<unknown>({ id: '4', type: 't', source: '/s', datacontenttype: 'application/octet-stream', data: bytes }),
      new CloudEvent<unknown>({ id: '5', type: 't', source: '/s', subject: 'sub', dataschema: 'https://x/s.json', urgent: true }),
    ];
    for (const e of cases) {
      const back = decodeEvent(asConsumed(encodeEvent(e)));
      for (const attr of ['id', 'type', 'source', 'specversion', 'time', 'subject', 'dataschema', 'datacontenttype']) {
        expect((back as unknown as Record<string, unknown>)[attr]).toEqual((e as unknown as Record<string, unknown>)[attr]);
      }
      if (e.data instanceof Uint8Array) expect([...Buffer.from(back.data as Uint8Array)]).toEqual([...e.data]);
      else expect(back.data).toEqual(e.data);
    }
    const ext = decodeEvent(asConsumed(encodeEvent(cases[4] as CloudEvent<unknown>)));
    expect(ext['urgent']).toBe('true');
    expect(ext.data).toBeUndefined();
  });

  it('reads records written by other producers (SDK binary mode, no wisp_data header) by content type', () => {
    const fromSdk = (data: unknown, datacontenttype: string): Parameters<typeof decodeEvent>[0] => {
      const m = Kafka.binary(new CloudEvent<unknown>({ id: 'x', type: 't', source: '/s', datacontenttype, data }));
      const headers: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) headers[k] = Buffer.from(String(v));
      return { key: null, value: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)), headers };
    };
    // Read as the exact bytes (an EventData), in the form their content type says.
    expect(decodeEvent(fromSdk({ a: 1 }, 'application/cloudevents-ignored+json; charset=utf-8')).data).toEqual(new EventData(Buffer.from('{"a":1}'), 'json'));
    expect(decodeEvent(fromSdk('{not json', 'application/json')).data).toEqual(new EventData(Buffer.from('{not json'), 'binary'));
    expect(decodeEvent(fromSdk('hi', 'text/plain')).data).toEqual(new EventData(Buffer.from('hi'), 'text'));
    expect(decodeEvent(fromSdk('raw', 'application/x-custom')).data).toEqual(new EventData(Buffer.from('raw'), 'binary'));
  });

  it('takes the record key as partitionkey when no ce_partitionkey header is present', () => {
    const e = decodeEvent({ key: Buffer.from('k1'), value: null, headers: { ce_id: 'i', ce_type: 't', ce_source: '/s', ce_specversion: '1.0' } });
    expect(e['partitionkey']).toBe('k1');
  });

  it('names topics and consumer groups as Knative does', () => {
    expect(brokerTopic('default', 'orders')).toBe('knative-broker-default-orders');
    expect(triggerGroupId('default/billing')).toBe('knative-trigger-default-billing');
  });
});

/** Events as the ingress builds them: data is an EventData whose bytes a JSON round trip would change. */
function ingressEvents(): Array<CloudEvent<unknown>> {
  const bin = (ct: string | undefined, body: Buffer, extra: Record<string, string> = {}) =>
    parseMessage({ headers: { 'ce-specversion': '1.0', 'ce-id': 'b', 'ce-source': '/s', 'ce-type': 't', ...(ct ? { 'content-type': ct } : {}), ...extra }, body });
  return [
    ...bin('application/json', Buffer.from('{ "n": 12345678901234567890123, "f": 1.0, "k":1, "k":2, "e":"\\u00e9" }'), { 'ce-subject': 'caf%C3%A9' }),
    ...bin('application/octet-stream', Buffer.from([0xe9, 0xff, 0x00, 0x80])),
    ...bin(undefined, Buffer.from([0xc3, 0x28])),
    ...bin('text/plain; charset=utf-8', Buffer.from('héllo')),
    ...parseMessage({ headers: { 'content-type': 'application/cloudevents+json' }, body: Buffer.from('{"specversion":"1.0","id":"s","source":"/s","type":"t","data": [1.0, 12345678901234567890123] ,"count":3,"flag":true}') }),
    ...parseMessage({ headers: { 'content-type': 'application/cloudevents+json' }, body: Buffer.from('{"specversion":"1.0","id":"b64","source":"/s","type":"t","data_base64":"6f8AgA=="}') }),
  ];
}

function expectSame(back: CloudEvent<unknown>, e: CloudEvent<unknown>): void {
  const attrs = (x: CloudEvent<unknown>) => {
    const { data: _d, data_base64: _b, ...rest } = x as unknown as Record<string, unknown>;
    return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
  };
  expect(attrs(back)).toEqual(attrs(e));
  expect(back.data).toBeInstanceOf(EventData);
  const [got, want] = [back.data as EventData, e.data as EventData];
  expect(got.form).toBe(want.form);
  expect([...got.bytes]).toEqual([...want.bytes]);
}

describe('event codecs keep EventData byte for byte', () => {
  it('Kafka: the record value is the exact bytes, and it decodes to the same EventData', () => {
    for (const e of ingressEvents()) {
      const r = encodeEvent(e);
      expect([...(r.value ?? [])]).toEqual([...(e.data as EventData).bytes]);
      expectSame(decodeEvent(asConsumed(r)), e);
    }
  });

  it('Redis: the job keeps attributes and data bytes apart (text when UTF-8, else base64) and decodes to the same EventData', () => {
    for (const e of ingressEvents()) {
      const job = JSON.parse(JSON.stringify(redis.encodeEvent(e, 2))) as unknown;
      const back = redis.decodeEvent(job);
      expect(back.attempt).toBe(2);
      expectSame(back.event, e);
    }
    const [json, bytes] = ingressEvents();
    expect(redis.encodeEvent(json as CloudEvent<unknown>)).toMatchObject({ df: 'json', d: '{ "n": 12345678901234567890123, "f": 1.0, "k":1, "k":2, "e":"\\u00e9" }' });
    expect(redis.encodeEvent(bytes as CloudEvent<unknown>)).toMatchObject({ df: 'binary', d64: '6f8AgA==' });
  });

  it('Redis: jobs written before (the whole event as JSON) still decode', () => {
    const old = { ce: JSON.stringify(new CloudEvent({ id: 'o', type: 't', source: '/s', data: { a: 1 } })), attempt: 1 };
    expect(redis.decodeEvent(old).event.data).toEqual({ a: 1 });
  });
});
