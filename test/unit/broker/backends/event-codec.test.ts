import { describe, expect, it } from 'vitest';
import { CloudEvent, Kafka } from 'cloudevents';
import { brokerTopic, decodeEvent, encodeEvent, triggerGroupId } from '../../../../broker/backends/kafka/codec.js';

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
    expect(decodeEvent(fromSdk({ a: 1 }, 'application/cloudevents-ignored+json; charset=utf-8')).data).toEqual({ a: 1 });
    expect(decodeEvent(fromSdk('hi', 'text/plain')).data).toBe('hi');
    expect(Buffer.isBuffer(decodeEvent(fromSdk('raw', 'application/x-custom')).data)).toBe(true);
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
