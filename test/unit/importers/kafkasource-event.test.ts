import { CloudEvent, Kafka } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  defaultConsumerGroup,
  headerExtensionName,
  KAFKA_EVENT_TYPE,
  kafkaSourceUri,
  passthroughEvent,
  recordToEvent,
  wrappedEvent,
  type KafkaRecord,
} from '../../../src/importers/kafka/event.js';

const SPEC = { namespace: 'shop', name: 'orders-source' };
const TS = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

const record = (over: Partial<KafkaRecord> = {}): KafkaRecord => ({
  topic: 'orders',
  partition: 3,
  offset: '42',
  timestamp: String(TS),
  key: null,
  value: Buffer.from('{"order":1}'),
  headers: {},
  ...over,
});

describe('wrapped records (not CloudEvents)', () => {
  it('carry type, source, subject, id and time from the record', () => {
    const e = recordToEvent(SPEC, record());
    expect(e.specversion).toBe('1.0');
    expect(e.type).toBe(KAFKA_EVENT_TYPE);
    expect(e.type).toBe('dev.knative.kafka.event');
    expect(e.source).toBe('/apis/v1/namespaces/shop/kafkasources/orders-source#orders');
    expect(e.subject).toBe('partition:3#42');
    expect(e.id).toBe('partition:3/offset:42');
    expect(e.time).toBe(new Date(TS).toISOString());
    expect(Buffer.from(e.data as Uint8Array).toString()).toBe('{"order":1}');
    expect(e.validate()).toBe(true);
  });

  it('put the key into extensions key and partitionkey', () => {
    const e = recordToEvent(SPEC, record({ key: Buffer.from('customer-7') }));
    expect(e['key']).toBe('customer-7');
    expect(e['partitionkey']).toBe('customer-7');
    const none = recordToEvent(SPEC, record());
    expect(none['key']).toBeUndefined();
    expect(none['partitionkey']).toBeUndefined();
  });

  it('turn headers into kafkaheader<name> extensions (lower-cased, a-z0-9 only) and content-type into datacontenttype', () => {
    const e = recordToEvent(
      SPEC,
      record({
        value: Buffer.from('hello'),
        headers: { 'Content-Type': Buffer.from('Text/Plain'), 'X-Trace': Buffer.from('abc'), 'my_app.v2': 'yes', dup: [Buffer.from('1'), Buffer.from('2')] },
      }),
    );
    expect(e.datacontenttype).toBe('text/plain');
    expect(e['kafkaheaderxtrace']).toBe('abc');
    expect(e['kafkaheadermyappv2']).toBe('yes');
    expect(e['kafkaheaderdup']).toBe('2');
    expect(e['kafkaheadercontenttype']).toBeUndefined();
    expect(Buffer.from(e.data as Uint8Array).toString()).toBe('hello');
    expect(e.validate()).toBe(true);
  });

  it('sanitize header names the way Knative does, within 20 characters', () => {
    expect(headerExtensionName('X-Request')).toBe('kafkaheaderxrequest');
    expect(headerExtensionName('ÄBC_9!')).toBe('kafkaheaderbc9');
    expect(headerExtensionName('---')).toBe('kafkaheader');
    expect(headerExtensionName('X-Correlation-Id')).toBe('kafkaheaderxcorrelat');
    expect(headerExtensionName('X-Correlation-Id')).toHaveLength(20);
  });

  it('label a value that is not JSON and has no content-type as application/octet-stream; JSON keeps no datacontenttype', () => {
    expect(recordToEvent(SPEC, record({ value: Buffer.from('plain words') })).datacontenttype).toBe('application/octet-stream');
    expect(recordToEvent(SPEC, record({ value: Buffer.from('[1,2]') })).datacontenttype).toBeUndefined();
  });

  it('have no data when the record has no value (a tombstone)', () => {
    const e = wrappedEvent(SPEC, record({ value: null, key: 'k' }));
    expect(e.data).toBeUndefined();
    expect(e.datacontenttype).toBeUndefined();
    expect(e['key']).toBe('k');
  });

  it('wrap records that look like CloudEvents but are not valid ones', () => {
    const e = recordToEvent(SPEC, record({ headers: { ce_id: 'x' } }));
    expect(e.type).toBe(KAFKA_EVENT_TYPE);
    expect(e['kafkaheadercespecversion']).toBeUndefined();
    expect(e['kafkaheaderceid']).toBe('x');
    const badJson = recordToEvent(SPEC, record({ value: Buffer.from('{nope'), headers: { 'content-type': 'application/cloudevents+json' } }));
    expect(badJson.type).toBe(KAFKA_EVENT_TYPE);
    expect(badJson.id).toBe('partition:3/offset:42');
  });
});

describe('records already in CloudEvents form pass through', () => {
  it('binary mode (ce_ headers) keeps its own attributes, extensions and data', () => {
    const r = record({
      key: Buffer.from('k1'),
      value: Buffer.from('{"a":1}'),
      headers: {
        ce_specversion: Buffer.from('1.0'),
        ce_id: Buffer.from('evt-1'),
        ce_type: Buffer.from('com.example.order.created'),
        ce_source: Buffer.from('/orders'),
        ce_subject: Buffer.from('order-1'),
        ce_time: Buffer.from('2026-01-01T00:00:00Z'),
        ce_myext: Buffer.from('v'),
        'content-type': Buffer.from('application/json'),
      },
    });
    const e = recordToEvent(SPEC, r);
    expect(e.id).toBe('evt-1');
    expect(e.type).toBe('com.example.order.created');
    expect(e.source).toBe('/orders');
    expect(e.subject).toBe('order-1');
    expect(e.time).toBe('2026-01-01T00:00:00.000Z');
    expect(e.datacontenttype).toBe('application/json');
    expect(e['myext']).toBe('v');
    expect(e['partitionkey']).toBe('k1');
    expect(e['key']).toBeUndefined();
    expect(e.data).toEqual({ a: 1 });
  });

  it('binary mode header names are matched case-insensitively and a record without a value has no data', () => {
    const e = passthroughEvent(record({ value: null, headers: { CE_SPECVERSION: '1.0', Ce_Id: 'i', ce_type: 't', ce_source: 's' } }));
    expect(e?.id).toBe('i');
    expect(e?.data).toBeUndefined();
    expect(e?.['partitionkey']).toBeUndefined();
  });

  it('structured mode (application/cloudevents+json) round-trips what the SDK writes', () => {
    const original = new CloudEvent({ id: 'evt-2', type: 'com.example.t', source: '/s', time: '2026-02-02T02:02:02.000Z', data: { b: 2 }, ext1: 'x' });
    const msg = Kafka.structured(original);
    const e = recordToEvent(SPEC, record({ value: Buffer.from(String(msg.value)), headers: { 'content-type': String(msg.headers['content-type']) } }));
    expect(e.id).toBe('evt-2');
    expect(e.type).toBe('com.example.t');
    expect(e.source).toBe('/s');
    expect(e.data).toEqual({ b: 2 });
    expect(e['ext1']).toBe('x');
  });
});

describe('ceOverrides.extensions', () => {
  const spec = { ...SPEC, extensions: { team: 'shop', myext: 'override' } };

  it('are set on wrapped events', () => {
    const e = recordToEvent(spec, record());
    expect(e['team']).toBe('shop');
    expect(e.type).toBe(KAFKA_EVENT_TYPE);
  });

  it('are set on passed-through events, replacing the record’s own value', () => {
    const e = recordToEvent(spec, record({ headers: { ce_specversion: '1.0', ce_id: 'i', ce_type: 't', ce_source: 's', ce_myext: 'mine' } }));
    expect(e.id).toBe('i');
    expect(e['team']).toBe('shop');
    expect(e['myext']).toBe('override');
  });
});

describe('names', () => {
  it('source URI and default consumer group', () => {
    expect(kafkaSourceUri('default', 'src', 't.1')).toBe('/apis/v1/namespaces/default/kafkasources/src#t.1');
    expect(defaultConsumerGroup('default', 'src')).toBe('knative-kafka-source-default-src');
  });
});
