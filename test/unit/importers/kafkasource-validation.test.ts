import { describe, expect, it } from 'vitest';
import { bootstrapServerList } from '../../../src/api/kafkasource.js';
import { validate } from '../../../src/api/validate.js';

type Obj = Record<string, any>;

function kafkaSource(spec: Obj = {}): Obj {
  return {
    apiVersion: 'sources.knative.dev/v1beta1',
    kind: 'KafkaSource',
    metadata: { name: 'orders' },
    spec: {
      bootstrapServers: ['127.0.0.1:9092'],
      topics: ['orders'],
      sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } },
      ...spec,
    },
  };
}

const errorsOf = (obj: Obj): string[] => validate(obj).errors.map((e) => `${e.field}: ${e.message}`);

describe('KafkaSource validation', () => {
  it('accepts a full Knative KafkaSource without warnings', () => {
    const r = validate(
      kafkaSource({
        bootstrapServers: ['kafka-0:9092,kafka-1:9092', '[::1]:9093'],
        topics: ['orders', 'payments.v1'],
        consumerGroup: 'my-group',
        initialOffset: 'earliest',
        consumers: 2,
        ordering: 'ordered',
        ceOverrides: { extensions: { team: 'shop' } },
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.object?.metadata.namespace).toBe('default');
  });

  it('requires topics, naming spec.topics', () => {
    expect(errorsOf(kafkaSource({ topics: undefined }))).toEqual(['spec.topics: missing field(s): want at least one topic']);
    expect(errorsOf(kafkaSource({ topics: [] }))).toEqual(['spec.topics: missing field(s): want at least one topic']);
  });

  it('rejects bad topic names and duplicates', () => {
    expect(errorsOf(kafkaSource({ topics: ['ok', 'bad topic', '..', 'ok'] }))).toEqual([
      `spec.topics[1]: invalid topic name "bad topic": want 1-249 letters, digits, '.', '_' or '-' (not "." or "..")`,
      `spec.topics[2]: invalid topic name "..": want 1-249 letters, digits, '.', '_' or '-' (not "." or "..")`,
      'spec.topics[3]: duplicate topic "ok"',
    ]);
  });

  it('requires bootstrapServers as host:port', () => {
    expect(errorsOf(kafkaSource({ bootstrapServers: undefined }))).toEqual(['spec.bootstrapServers: missing field(s): want at least one host:port']);
    expect(errorsOf(kafkaSource({ bootstrapServers: [' , '] }))).toEqual(['spec.bootstrapServers: missing field(s): want at least one host:port']);
    expect(errorsOf(kafkaSource({ bootstrapServers: ['kafka', 'k:0', 'k:99999'] }))).toEqual([
      'spec.bootstrapServers[0]: invalid server "kafka": want host:port',
      'spec.bootstrapServers[1]: invalid port in "k:0": want 1-65535',
      'spec.bootstrapServers[2]: invalid port in "k:99999": want 1-65535',
    ]);
    expect(errorsOf(kafkaSource({ bootstrapServers: 'k:9092' }))).toEqual(['spec.bootstrapServers: expected array, got string']);
  });

  it('rejects a bad initialOffset, ordering, consumers and empty consumerGroup', () => {
    expect(errorsOf(kafkaSource({ initialOffset: 'newest' }))).toEqual(['spec.initialOffset: invalid value "newest": want "earliest" or "latest"']);
    expect(errorsOf(kafkaSource({ ordering: 'random' }))).toEqual(['spec.ordering: invalid value "random": want "ordered" or "unordered"']);
    expect(errorsOf(kafkaSource({ consumers: 0 }))).toEqual(['spec.consumers: invalid value 0: want at least 1']);
    expect(errorsOf(kafkaSource({ consumerGroup: ' ' }))).toEqual(['spec.consumerGroup: must not be empty (omit it for the default group)']);
  });

  it('requires a sink and checks ceOverrides', () => {
    expect(errorsOf(kafkaSource({ sink: undefined }))).toEqual(['spec.sink: missing field(s)']);
    expect(errorsOf(kafkaSource({ ceOverrides: { extensions: { Bad: 'x', id: 'y' } } }))).toEqual([
      'spec.ceOverrides.extensions[Bad]: invalid CloudEvents attribute name: want 1-20 lower-case letters or digits',
      'spec.ceOverrides.extensions[id]: cannot override the CloudEvents context attribute "id"',
    ]);
  });

  it('reports a missing spec and warns about unknown fields', () => {
    expect(errorsOf({ apiVersion: 'sources.knative.dev/v1beta1', kind: 'KafkaSource', metadata: { name: 'x' } })).toEqual([
      'spec: missing field(s): bootstrapServers, topics, sink',
    ]);
    const r = validate(kafkaSource({ net: { tls: { enable: true } }, topic: 'typo' }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['unknown field "spec.net"', 'unknown field "spec.topic"']);
  });

  it('flattens comma-separated bootstrap servers', () => {
    expect(bootstrapServerList(['a:1, b:2', 'c:3'])).toEqual(['a:1', 'b:2', 'c:3']);
  });
});
