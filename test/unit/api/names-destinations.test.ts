import { describe, expect, it } from 'vitest';
import { KINDS } from '../../../src/api/kinds.js';
import { validate } from '../../../src/api/validate.js';

type Obj = Record<string, any>;

const SINK = { uri: 'http://127.0.0.1:9/sink' };

/** A valid object of every kind users apply, named `name`. */
function objects(name: string): Obj[] {
  const container = { command: ['node', 'x.js'] };
  return [
    { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name }, spec: { template: { spec: { containers: [container] } } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: {} },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name } },
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name }, spec: { broker: 'default', subscriber: SINK } },
    { apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', metadata: { name }, spec: { schedule: '* * * * *', sink: SINK } },
    { apiVersion: 'sources.knative.dev/v1', kind: 'ContainerSource', metadata: { name }, spec: { template: { spec: { containers: [container] } }, sink: SINK } },
    { apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', metadata: { name }, spec: { subject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'x' }, sink: SINK } },
    { apiVersion: 'sources.knative.dev/v1', kind: 'ApiServerSource', metadata: { name }, spec: { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }], sink: SINK } },
    { apiVersion: 'sources.knative.dev/v1beta1', kind: 'KafkaSource', metadata: { name }, spec: { bootstrapServers: ['127.0.0.1:9092'], topics: ['t'], sink: SINK } },
  ];
}

const nameErrors = (obj: Obj): string[] => validate(obj).errors.filter((e) => e.field === 'metadata.name').map((e) => e.message);

describe('metadata.name rules per kind', () => {
  it('covers every kind a user may apply', () => {
    expect(objects('x').map((o) => o.kind).sort()).toEqual(KINDS.filter((k) => !k.readOnly).map((k) => k.kind).sort());
  });

  it('accepts ordinary names on every kind', () => {
    for (const obj of objects('orders-1')) expect(validate(obj).errors, obj.kind).toEqual([]);
  });

  it('refuses Bad_Name.X on every kind, with the reason', () => {
    for (const obj of objects('Bad_Name.X')) {
      const errs = nameErrors(obj);
      expect(errs.length, obj.kind).toBeGreaterThan(0);
      expect(errs.join('; '), obj.kind).toContain('invalid value "Bad_Name.X"');
    }
  });

  it('takes DNS-1123 subdomains (dots, up to 253) on every kind but Service, whose name becomes a host label', () => {
    for (const obj of objects('orders.v1.example')) {
      expect(nameErrors(obj), obj.kind).toEqual(obj.kind === 'Service' ? [expect.stringContaining('DNS-1035 label')] : []);
    }
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(long).toHaveLength(253);
    for (const obj of objects(long).filter((o) => o.kind !== 'Service' && o.kind !== 'Broker')) expect(nameErrors(obj), obj.kind).toEqual([]);
    for (const obj of objects(`${long}e`).filter((o) => o.kind !== 'Service')) {
      expect(nameErrors(obj), obj.kind).toContain('invalid value "' + `${long}e` + '": must be no more than 253 characters');
    }
  });

  it('refuses subdomain shapes Kubernetes refuses: empty labels, a leading or trailing dash or dot, upper case', () => {
    for (const bad of ['a..b', '-a', 'a-', '.a', 'a.', 'a.-b', 'A', 'a_b', 'a b', 'ä']) {
      const broker = objects(bad).find((o) => o.kind === 'Broker') as Obj;
      expect(nameErrors(broker), bad).toEqual([expect.stringContaining('a lowercase RFC 1123 subdomain must consist of')]);
    }
  });

  it('keeps a Broker name within the Kafka topic knative-broker-<namespace>-<name> (249 characters)', () => {
    const broker = (name: string, namespace = 'default'): Obj => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name, namespace } });
    const max = 249 - 'knative-broker-default-'.length;
    expect(nameErrors(broker('a'.repeat(max)))).toEqual([]);
    expect(nameErrors(broker('a'.repeat(max + 1)))).toEqual([
      `must be no more than ${max} characters in namespace "default": the Kafka topic knative-broker-<namespace>-<name> is limited to 249`,
    ]);
  });

  it('keeps the Service rule (a DNS-1035 label of at most 57, as revisions append -00001)', () => {
    const svc = objects('x').find((o) => o.kind === 'Service') as Obj;
    svc.metadata.name = '1abc';
    expect(nameErrors(svc)).toEqual([expect.stringContaining('DNS-1035 label')]);
  });
});

describe('destination URIs must be http or https', () => {
  const errs = (obj: Obj): string[] => validate(obj).errors.map((e) => `${e.field}: ${e.message}`);

  it('refuses file:, ftp:, javascript: and data: at each destination, naming the field', () => {
    for (const uri of ['file:///etc/passwd', 'ftp://x/y', 'javascript:alert(1)', 'data:text/plain,hi', 'FILE:///etc/passwd']) {
      for (const obj of objects('ok')) {
        if (obj.kind === 'Service' || obj.kind === 'ConfigMap' || obj.kind === 'Broker') continue;
        const field = obj.kind === 'Trigger' ? 'spec.subscriber' : 'spec.sink';
        obj.spec[obj.kind === 'Trigger' ? 'subscriber' : 'sink'] = { uri };
        const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
        expect(errs(obj), `${obj.kind} ${uri}`).toEqual([
          `${field}.uri: unsupported URI scheme "${scheme}:" in ${JSON.stringify(uri)}: want http or https (events are delivered with HTTP POST)`,
        ]);
      }
    }
  });

  it('checks the deadLetterSink of a Broker and of a Trigger', () => {
    const [, , broker, trigger] = objects('ok') as [Obj, Obj, Obj, Obj];
    broker.spec = { delivery: { deadLetterSink: { uri: 'file:///tmp/dead' } } };
    trigger.spec.delivery = { retry: 1, deadLetterSink: { uri: 'gopher://x' } };
    expect(errs(broker)).toEqual([expect.stringMatching(/^spec\.delivery\.deadLetterSink\.uri: unsupported URI scheme "file:"/)]);
    expect(errs(trigger)).toEqual([expect.stringMatching(/^spec\.delivery\.deadLetterSink\.uri: unsupported URI scheme "gopher:"/)]);
  });

  it('accepts http, https (any case), and a ref with a relative uri; gives one message for an absolute uri beside a ref', () => {
    const [, , , trigger] = objects('ok') as [Obj, Obj, Obj, Obj];
    for (const uri of ['http://a.example/x', 'HTTPS://a.example:8443/', 'http://[::1]:9/']) {
      trigger.spec.subscriber = { uri };
      expect(errs(trigger), uri).toEqual([]);
    }
    trigger.spec.subscriber = { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' }, uri: '/path?q=1' };
    expect(errs(trigger)).toEqual([]);
    trigger.spec.subscriber = { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' }, uri: 'file:///etc/passwd' };
    expect(errs(trigger)).toEqual(['spec.subscriber.uri: absolute URI is not allowed when ref is present: "file:///etc/passwd"']);
  });
});
