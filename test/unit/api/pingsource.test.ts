import { describe, expect, it } from 'vitest';
import { formatInvalid, validate } from '../../../src/api/validate.js';

type Obj = Record<string, any>;

function ping(spec: Obj = {}, extra: Obj = {}): Obj {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    metadata: { name: 'tick' },
    spec: { schedule: '*/2 * * * * *', sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }, ...spec },
    ...extra,
  };
}

const errorsOf = (obj: Obj): string[] => validate(obj).errors.map((e) => `${e.field}: ${e.message}`);

describe('PingSource validation', () => {
  it('accepts a valid source with seconds, a zone, JSON data and extensions, and defaults the namespace', () => {
    const r = validate(ping({ timezone: 'Europe/Oslo', contentType: 'application/json', data: '{"msg":"hi"}', ceOverrides: { extensions: { team: 'ops', tier2: 'x' } } }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.object?.metadata.namespace).toBe('default');
    expect(validate(ping({ schedule: '0 9 * * 1-5', sink: { uri: 'http://sink.example.com/x' }, dataBase64: 'aGVsbG8=' })).errors).toEqual([]);
  });

  it('requires a schedule and a sink', () => {
    expect(errorsOf(ping({ schedule: undefined, sink: undefined }))).toEqual(['spec.schedule: missing field(s)', 'spec.sink: missing field(s)']);
    expect(errorsOf({ apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', metadata: { name: 'x' } })).toEqual(['spec: missing field(s)']);
  });

  it('names the bad cron field, with croner\'s reason', () => {
    expect(errorsOf(ping({ schedule: '61 * * * *' }))).toEqual(['spec.schedule: invalid cron schedule "61 * * * *": Invalid value for minute: 61']);
    const [four] = errorsOf(ping({ schedule: '* * * *' }));
    expect(four).toMatch(/^spec\.schedule: invalid cron schedule "\* \* \* \*": invalid configuration format/);
    // Seven fields (years) are not a Knative schedule.
    expect(errorsOf(ping({ schedule: '0 0 0 * * * 2030' }))[0]).toMatch(/^spec\.schedule: invalid cron schedule "0 0 0 \* \* \* 2030": /);
  });

  it('rejects unknown time zones', () => {
    expect(errorsOf(ping({ timezone: 'Mars/Base' }))).toEqual(['spec.timezone: unknown time zone "Mars/Base"']);
    expect(errorsOf(ping({ timezone: 'UTC' }))).toEqual([]);
  });

  it('checks data: one of data/dataBase64, base64 valid, JSON valid for JSON content types', () => {
    expect(errorsOf(ping({ data: 'x', dataBase64: 'eA==' }))).toEqual(['spec.data, spec.dataBase64: expected exactly one, got both']);
    expect(errorsOf(ping({ dataBase64: 'not base64!' }))).toEqual(['spec.dataBase64: invalid base64 data']);
    expect(errorsOf(ping({ contentType: 'application/cloudevents+json; charset=utf-8', data: '{oops' }))[0]).toMatch(/^spec\.data: invalid JSON for contentType "application\/cloudevents\+json; charset=utf-8": /);
    expect(errorsOf(ping({ contentType: 'text/plain', data: '{oops' }))).toEqual([]);
  });

  it('checks the sink like a subscriber and the extension names', () => {
    expect(errorsOf(ping({ sink: {} }))).toEqual(['spec.sink: expected exactly one, got neither: ref, uri']);
    expect(errorsOf(ping({ sink: { uri: '/relative' } }))).toEqual(['spec.sink.uri: relative URI is not allowed without ref: "/relative"']);
    expect(errorsOf(ping({ ceOverrides: { extensions: { Team: 'a', 'a-b': 'c', type: 'x' } } }))).toEqual([
      'spec.ceOverrides.extensions[Team]: invalid CloudEvents attribute name: want 1-20 lower-case letters or digits',
      'spec.ceOverrides.extensions[a-b]: invalid CloudEvents attribute name: want 1-20 lower-case letters or digits',
      'spec.ceOverrides.extensions[type]: cannot override the CloudEvents context attribute "type"',
    ]);
  });

  it('warns about unknown fields and reports shape errors', () => {
    expect(validate(ping({ jsonData: '{}' })).warnings).toEqual(['unknown field "spec.jsonData"']);
    expect(validate(ping({ schedule: 5 })).errors[0]?.field).toBe('spec.schedule');
  });

  it('formats like kubectl', () => {
    const r = validate(ping({ schedule: '61 * * * *', timezone: 'Mars/Base' }));
    expect(formatInvalid('PingSource', 'tick', r.errors)).toBe(
      'PingSource "tick" is invalid: spec.schedule: invalid cron schedule "61 * * * *": Invalid value for minute: 61; spec.timezone: unknown time zone "Mars/Base"',
    );
  });
});
