import { describe, expect, it } from 'vitest';
import type { KObject } from '../../../src/api/types.js';
import { validate } from '../../../src/api/validate.js';
import { admit } from '../../../src/control/admission.js';
import { Store } from '../../../src/control/store.js';

type Obj = Record<string, any>;

function broker(patch: (b: Obj) => void = () => {}): Obj {
  const b: Obj = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default' } };
  patch(b);
  return b;
}

function trigger(patch: (t: Obj) => void = () => {}): Obj {
  const t: Obj = {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'orders' },
    spec: { broker: 'default', subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' } } },
  };
  patch(t);
  return t;
}

const errorsOf = (obj: unknown): string[] => validate(obj).errors.map((e) => `${e.field}: ${e.message}`);
const fieldsOf = (obj: unknown): string[] => validate(obj).errors.map((e) => e.field);

describe('validate: Broker', () => {
  it('accepts a plain Broker and each known class', () => {
    expect(validate(broker())).toMatchObject({ errors: [], warnings: [], object: { metadata: { namespace: 'default' } } });
    for (const cls of ['MTChannelBasedBroker', 'Memory', 'Redis', 'Kafka']) {
      expect(errorsOf(broker((b) => (b.metadata.annotations = { 'eventing.knative.dev/broker.class': cls })))).toEqual([]);
    }
  });

  it('rejects an unknown class, listing the known ones', () => {
    expect(errorsOf(broker((b) => (b.metadata.annotations = { 'eventing.knative.dev/broker.class': 'RabbitMQ' })))).toEqual([
      'metadata.annotations[eventing.knative.dev/broker.class]: invalid value "RabbitMQ": want one of MTChannelBasedBroker, Memory, Redis, Kafka',
    ]);
  });

  it('checks wisp.dev/max-backlog: an integer from 1 to 100000000', () => {
    for (const ok of ['1', '50000', '100000000']) expect(errorsOf(broker((b) => (b.metadata.annotations = { 'wisp.dev/max-backlog': ok })))).toEqual([]);
    for (const bad of ['0', '-5', '1e3', 'lots', '100000001']) {
      expect(errorsOf(broker((b) => (b.metadata.annotations = { 'wisp.dev/max-backlog': bad })))).toEqual([
        `metadata.annotations[wisp.dev/max-backlog]: invalid value "${bad}": want an integer from 1 to 100000000 (events waiting per Trigger)`,
      ]);
    }
  });

  it('checks spec.delivery through the delivery rules', () => {
    const errs = errorsOf(broker((b) => (b.spec = { delivery: { retry: -1, backoffPolicy: 'sometimes', backoffDelay: 'soon', deadLetterSink: { uri: 'relative/path' } } })));
    expect(errs.map((e) => e.split(':')[0])).toEqual([
      'spec.delivery.retry',
      'spec.delivery.backoffPolicy',
      'spec.delivery.backoffDelay',
      'spec.delivery.deadLetterSink.uri',
    ]);
    expect(errorsOf(broker((b) => (b.spec = { delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.5S', timeout: 'PT2S' } })))).toEqual([]);
  });

  it('warns about unknown fields and keeps them', () => {
    const { errors, warnings, object } = validate(broker((b) => (b.spec = { delivery: { retry: 1, retries: 5 }, colour: 'blue' })));
    expect(errors).toEqual([]);
    expect(warnings).toEqual(['unknown field "spec.delivery.retries"', 'unknown field "spec.colour"']);
    expect(object?.spec).toEqual({ delivery: { retry: 1, retries: 5 }, colour: 'blue' });
  });

  it('reports wrong types with their path', () => {
    expect(errorsOf(broker((b) => (b.spec = { delivery: { deadLetterSink: { uri: 42 } } })))).toEqual(['spec.delivery.deadLetterSink.uri: expected string, got integer']);
  });
});

describe('validate: Trigger', () => {
  it('accepts a Trigger with a Service subscriber, or an absolute uri, or a ref + relative uri', () => {
    expect(validate(trigger())).toMatchObject({ errors: [], warnings: [] });
    expect(errorsOf(trigger((t) => (t.spec.subscriber = { uri: 'http://127.0.0.1:9000/events' })))).toEqual([]);
    expect(errorsOf(trigger((t) => (t.spec.subscriber.uri = '/events')))).toEqual([]);
    // apiVersion is optional
    expect(errorsOf(trigger((t) => (t.spec.subscriber = { ref: { kind: 'Service', name: 'display' } })))).toEqual([]);
  });

  it('requires spec.broker and spec.subscriber', () => {
    expect(errorsOf(trigger((t) => delete t.spec.broker))).toEqual(['spec.broker: missing field(s)']);
    expect(errorsOf(trigger((t) => delete t.spec.subscriber))).toEqual(['spec.subscriber: missing field(s)']);
    expect(errorsOf(trigger((t) => delete t.spec))).toEqual(['spec: missing field(s)']);
  });

  it('applies the Destination rules to the subscriber', () => {
    expect(fieldsOf(trigger((t) => (t.spec.subscriber = {})))).toEqual(['spec.subscriber']);
    expect(errorsOf(trigger((t) => (t.spec.subscriber = { ref: { apiVersion: 'serving.knative.dev/v1' } })))).toEqual([
      'spec.subscriber.ref.kind: missing field(s)',
      'spec.subscriber.ref.name: missing field(s)',
    ]);
    const relative = errorsOf(trigger((t) => (t.spec.subscriber = { uri: '/events' })));
    expect(relative).toHaveLength(1);
    expect(relative[0]).toMatch(/^spec\.subscriber\.uri: relative URI is not allowed without ref/);
    const both = errorsOf(trigger((t) => (t.spec.subscriber.uri = 'http://elsewhere/x')));
    expect(both).toHaveLength(1);
    expect(both[0]).toMatch(/^spec\.subscriber\.uri: absolute URI is not allowed when ref is present/);
  });

  it('surfaces filter errors from the filters module with spec.filter/spec.filters paths', () => {
    const twoDialects = fieldsOf(trigger((t) => (t.spec.filters = [{ exact: { type: 'a' } }, { exact: { type: 'b' }, prefix: { source: '/x' } }])));
    expect(twoDialects.length).toBeGreaterThan(0);
    expect(twoDialects.every((f) => f.startsWith('spec.filters[1]'))).toBe(true);

    const cesql = validate(trigger((t) => (t.spec.filters = [{ cesql: "type = 'a' AND (source = 'b'" }]))).errors;
    expect(cesql.length).toBeGreaterThan(0);
    expect(cesql[0]?.field).toMatch(/^spec\.filters\[0\]\.cesql/);
    expect(cesql[0]?.message).toMatch(/column \d+/);

    const badKey = fieldsOf(trigger((t) => (t.spec.filter = { attributes: { 'Bad-Key': 'x' } })));
    expect(badKey.length).toBeGreaterThan(0);
    expect(badKey[0]).toMatch(/^spec\.filter\.attributes/);

    expect(errorsOf(trigger((t) => (t.spec.filters = [{ cesql: "type LIKE 'dev.%'" }, { not: { exact: { source: '/x' } } }])))).toEqual([]);
    expect(errorsOf(trigger((t) => (t.spec.filter = { attributes: { type: 'dev.example', source: '' } })))).toEqual([]);
  });

  it('checks spec.delivery, including the dead-letter sink', () => {
    expect(errorsOf(trigger((t) => (t.spec.delivery = { retry: 2, deadLetterSink: { ref: { kind: 'Service', name: 'dlq' } } })))).toEqual([]);
    expect(fieldsOf(trigger((t) => (t.spec.delivery = { timeout: 'PT0S', deadLetterSink: { ref: { kind: 'Service' } } })))).toEqual([
      'spec.delivery.timeout',
      'spec.delivery.deadLetterSink.ref.name',
    ]);
  });

  it('checks wisp.dev/max-in-flight: a positive integer up to 10000', () => {
    const withMax = (v: string): Obj => trigger((t) => (t.metadata.annotations = { 'wisp.dev/max-in-flight': v }));
    expect(errorsOf(withMax('1'))).toEqual([]);
    expect(errorsOf(withMax('10000'))).toEqual([]);
    expect(errorsOf(withMax('0'))).toEqual(['metadata.annotations[wisp.dev/max-in-flight]: invalid value "0": expected 1 <= 0 <= 10000']);
    expect(errorsOf(withMax('10001'))).toEqual(['metadata.annotations[wisp.dev/max-in-flight]: invalid value "10001": expected 1 <= 10001 <= 10000']);
    expect(errorsOf(withMax('lots'))[0]).toMatch(/^metadata\.annotations\[wisp\.dev\/max-in-flight\]: invalid value "lots": want a positive integer/);
    expect(errorsOf(withMax('2.5'))).toHaveLength(1);
  });

  it('warns about unknown fields in the spec', () => {
    expect(validate(trigger((t) => (t.spec.subscriber.reff = {}))).warnings).toEqual(['unknown field "spec.subscriber.reff"']);
  });
});

describe('admission: Trigger spec.broker is immutable', () => {
  it('refuses moving a Trigger to another Broker, allows other changes', async () => {
    const store = await Store.open();
    const t = validate(trigger()).object as KObject;
    expect(admit(store, t)).toEqual([]);
    store.apply(t);
    const moved = validate(trigger((x) => (x.spec.broker = 'other'))).object as KObject;
    expect(admit(store, moved)).toEqual([
      { field: 'spec.broker', message: 'field is immutable: was "default", now "other"; delete and re-create the Trigger to move it to another Broker' },
    ]);
    const retargeted = validate(trigger((x) => (x.spec.subscriber = { uri: 'http://127.0.0.1:9/x' }))).object as KObject;
    expect(admit(store, retargeted)).toEqual([]);
  });
});
