/**
 * The ingress's fast event builder against the CloudEvents SDK's constructor (the reference): every message of the
 * table is parsed with both (parseMessage's `build`), and both must give the same result: the same events (same
 * prototype, same own properties in the same order, same values, frozen) or the same error (class, status code and
 * message). Each message is parsed three times with the fast builder, so both its paths are compared: the first time
 * (a source it has not seen goes through the SDK) and afterwards (from its memo of accepted sources).
 */
import { CloudEvent } from 'cloudevents';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventData } from '../../../../broker/event-data.js';
import { fastCloudEvent, parseMessage, sdkCloudEvent, type EventBuilder } from '../../../../broker/ingress/index.js';
import { surelyValidTime } from '../../../../broker/ingress/build-event.js';

type Message = { headers: Record<string, string>; body?: string };
const STAMP = { knativearrivaltime: '2026-12-04T10:00:00.000Z' };
let seq = 0;
/** A source no earlier case used, so the fast builder's first parse of it takes its SDK path. */
const fresh = (base = '/src'): string => `${base}/${++seq}`;

const bin = (h: Record<string, string>, body?: string): Message => ({ headers: { 'ce-specversion': '1.0', 'ce-id': 'e1', 'ce-source': fresh(), 'ce-type': 't', ...h }, ...(body !== undefined && { body }) });
const binNoSource = (h: Record<string, string>): Message => ({ headers: { 'ce-specversion': '1.0', 'ce-id': 'e1', 'ce-type': 't', ...h } });
const structured = (e: Record<string, unknown>): Message => ({ headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(e) });
const ev = (e: Record<string, unknown>): Record<string, unknown> => ({ specversion: '1.0', id: 'e1', source: fresh(), type: 't', ...e });
/** An event from a source the fast builder has accepted before (see beforeAll), so its other checks decide. */
const KNOWN = '/known-source';
const known = (e: Record<string, unknown>): Record<string, unknown> => ({ specversion: '1.0', id: 'e1', source: KNOWN, type: 't', ...e });
const batch = (events: Record<string, unknown>[]): Message => ({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(events) });

const CASES: Array<[string, Message]> = [
  // spec attributes
  ['binary minimal', bin({})],
  ['binary with data and content type', bin({ 'content-type': 'application/json' }, '{"a":1}')],
  ['binary text data', bin({ 'content-type': 'text/plain' }, 'hello')],
  ['binary opaque data, no content type', bin({}, '\u0001\u0002')],
  ['binary subject, dataschema', bin({ 'ce-subject': 'x', 'ce-dataschema': 'https://example.com/schema.json' })],
  ['structured minimal', structured(ev({}))],
  ['structured JSON data', structured(ev({ data: { a: [1, 2.5, '3'] }, datacontenttype: 'application/json' }))],
  ['structured string data, text/plain', structured(ev({ data: 'hi', datacontenttype: 'text/plain' }))],
  ['structured null attribute is absent', structured(ev({ subject: null }))],
  ['source absolute URI', structured(ev({ source: fresh('https://github.com/cloudevents') }))],
  ['source URN', structured(ev({ source: `urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66-${++seq}` }))],
  ['source mailto', structured(ev({ source: `mailto:x${++seq}@example.com` }))],
  ['source relative no slash', structured(ev({ source: `cloudevents/spec/pull/${++seq}` }))],
  ['source phone-like', structured(ev({ source: `1-555-123-${++seq}` }))],
  ['source with a space (not a URI-reference)', structured(ev({ source: `/a b/${++seq}` }))],
  ['source //host:port with a bad port', structured(ev({ source: `//a:b${++seq}` }))],
  ['source with a backslash', structured(ev({ source: `\\\\x${++seq}` }))],
  ['source with unicode', structured(ev({ source: `/caf\u00e9/${++seq}` }))],
  ['source percent-encoded in a header', bin({ 'ce-source': `/a%20b/${++seq}` })],
  ['missing source', binNoSource({})],
  ['empty source', structured(ev({ source: '' }))],
  ['source a number', structured(ev({ source: 12 }))],
  ['dataschema relative (not a URI)', structured(ev({ dataschema: `schema${++seq}.json` }))],
  ['dataschema with a space', structured(ev({ dataschema: `https://x/a b${++seq}` }))],
  ['dataschema URN', structured(ev({ dataschema: `urn:x:${++seq}` }))],
  ['dataschema in 0.3', structured({ specversion: '0.3', id: 'e', source: '/s', type: 't', dataschema: 'https://x' })],
  ['schemaurl in 1.0', structured(ev({ schemaurl: 'https://x' }))],
  ['0.3 with schemaurl', structured({ specversion: '0.3', id: 'e', source: fresh(), type: 't', schemaurl: 'https://x/s' })],
  ['0.3 base64 data', structured({ specversion: '0.3', id: 'e', source: fresh(), type: 't', datacontentencoding: 'base64', data: 'aGk=' })],
  ['0.3 with a source that is no URI-reference (0.3 is not schema-checked)', structured({ specversion: '0.3', id: 'e', source: '/a b', type: 't' })],
  // specversion
  ['specversion 2.0', structured(ev({ specversion: '2.0' }))],
  ['specversion a number', structured(ev({ specversion: 1 }))],
  ['specversion missing', structured({ id: 'e', source: '/s', type: 't' })],
  ['specversion header 0.3', { headers: { 'ce-specversion': '0.3', 'ce-id': 'e', 'ce-source': fresh(), 'ce-type': 't' } }],
  // required
  ['missing id', structured({ specversion: '1.0', source: '/s', type: 't' })],
  ['empty id', structured(ev({ id: '' }))],
  ['missing type', structured({ specversion: '1.0', id: 'e', source: '/s' })],
  // datacontenttype
  ['datacontenttype empty', structured(ev({ datacontenttype: '' }))],
  ['datacontenttype a number', structured(ev({ datacontenttype: 5 }))],
  ['datacontenttype with parameters', structured(ev({ datacontenttype: 'application/json; charset=utf-8', data: { a: 1 } }))],
  // extensions: naming rules and values
  ['extensions string, integer, boolean', structured(ev({ ext1: 'v', count: 3, flag: true }))],
  ['extension upper-case name', structured(ev({ Ext: 'v' }))],
  ['extension name with a dash', structured(ev({ 'my-ext': 'v' }))],
  ['extension name of 20 characters', structured(ev({ abcdefghijklmnopqrst: 'v' }))],
  ['extension name of 21 characters', structured(ev({ abcdefghijklmnopqrstu: 'v' }))],
  ['extension value a float', structured(ev({ ratio: 1.5 }))],
  ['extension value an object', structured(ev({ obj: { a: 1 } }))],
  ['extension value an array', structured(ev({ arr: [1] }))],
  ['extension value null is absent', structured(ev({ gone: null }))],
  ['extension with a control character', structured(ev({ note: 'a\u0007b' }))],
  ['producer-sent knativearrivaltime (the ingress stamps over it)', structured(ev({ knativearrivaltime: '2020-01-01T00:00:00Z', after: 'x' }))],
  ['binary extension header', bin({ 'ce-myext': 'v', 'ce-other': '42' })],
  // time format
  ['time Z', structured(known({ time: '2024-05-06T07:08:09Z' }))],
  ['time with fraction and offset', structured(known({ time: '2024-05-06T07:08:09.123456+02:00' }))],
  ['time lower-case t and z', structured(known({ time: '2024-05-06t07:08:09z' }))],
  ['time 29 February of a leap year', structured(known({ time: '2024-02-29T00:00:00Z' }))],
  ['time 29 February 2000', structured(known({ time: '2000-02-29T00:00:00Z' }))],
  ['time 29 February 1900 (no leap year)', structured(known({ time: '1900-02-29T00:00:00Z' }))],
  ['time 29 February of a common year', structured(known({ time: '2023-02-29T00:00:00Z' }))],
  ['time 30 February', structured(known({ time: '2024-02-30T00:00:00Z' }))],
  ['time 31 April', structured(known({ time: '2024-04-31T00:00:00Z' }))],
  ['time month 13', structured(known({ time: '2024-13-01T00:00:00Z' }))],
  ['time day 0', structured(known({ time: '2024-01-00T00:00:00Z' }))],
  ['time hour 24', structured(known({ time: '2024-01-01T24:00:00Z' }))],
  ['time minute 60', structured(known({ time: '2024-01-01T23:60:00Z' }))],
  ['time leap second', structured(known({ time: '2016-12-31T23:59:60Z' }))],
  ['time second 60 not at 23:59', structured(known({ time: '2016-12-31T22:59:60Z' }))],
  ['time without a zone', structured(known({ time: '2024-01-01T00:00:00' }))],
  ['time date only', structured(known({ time: '2024-01-01' }))],
  ['time with a space', structured(known({ time: '2024-01-01 00:00:00Z' }))],
  ['time not a string', structured(known({ time: 1700000000 }))],
  ['time in a header', bin({ 'ce-source': KNOWN, 'ce-time': '2024-05-06T07:08:09.5-05:30' })],
  // data_base64
  ['data_base64', structured(known({ data_base64: 'AAEC/w==' }))],
  ['data_base64 with whitespace', structured(known({ data_base64: 'AAEC\n/w==' }))],
  ['data_base64 not base64', structured(known({ data_base64: '***' }))],
  ['data_base64 not a string', structured(known({ data_base64: 5 }))],
  ['data_base64 and data', structured(known({ data_base64: 'AA==', data: 1 }))],
  ['data_base64 in 0.3', structured({ specversion: '0.3', id: 'e', source: '/s', type: 't', data_base64: 'AA==' })],
  // batches
  ['batch of two', batch([ev({ data: 1 }), ev({ subject: 's' })])],
  ['batch with an invalid source in the second event', batch([ev({}), ev({ source: `/x y${++seq}` })])],
  ['batch with a bad time in the first event', batch([known({ time: '2024-02-30T00:00:00Z' }), ev({})])],
  ['known source, bad dataschema', structured(known({ dataschema: 'no-scheme' }))],
  ['known source, extension upper-case', structured(known({ Bad: 1 }))],
  ['known source, 0.3 stamped', structured({ specversion: '0.3', id: 'e', source: KNOWN, type: 't' })],
  ['empty batch', batch([])],
];

type Outcome = { events: unknown[] } | { error: { name: string; statusCode: unknown; message: string } };

/** What a user of the parse can observe of its result. */
function outcome(msg: Message, build: EventBuilder, stamp: Record<string, string> | undefined): Outcome {
  try {
    const events = parseMessage({ headers: msg.headers, body: msg.body === undefined ? undefined : Buffer.from(msg.body, 'latin1') }, stamp, build);
    return {
      events: events.map((e) => {
        expect(Object.getPrototypeOf(e)).toBe(CloudEvent.prototype);
        expect(Object.isFrozen(e)).toBe(true);
        const own = Object.getOwnPropertyNames(e);
        const rec = e as unknown as Record<string, unknown>;
        return own.map((k) => {
          const v = rec[k];
          if (v instanceof EventData) return [k, { form: v.form, bytes: [...v.bytes] }];
          return [k, v];
        });
      }),
    };
  } catch (err) {
    const e = err as { name?: string; statusCode?: unknown; message?: string };
    return { error: { name: e.constructor.name, statusCode: e.statusCode, message: String(e.message) } };
  }
}

/** The SDK stamps `time` with the wall clock when the producer sent none: both builders do; compare its form only. */
function withoutDefaultTime(o: Outcome, msg: Message): Outcome {
  if (!('events' in o)) return o;
  const sent = msg.body !== undefined && msg.body.includes('"time"') ? true : msg.headers['ce-time'] !== undefined;
  if (sent) return o;
  return {
    events: o.events.map((pairs) =>
      (pairs as Array<[string, unknown]>).map(([k, v]) => {
        if (k !== 'time') return [k, v];
        expect(typeof v === 'string' && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v).toBe(true);
        return [k, '<now>'];
      }),
    ),
  };
}

describe('fast CloudEvent builder = the SDK constructor', () => {
  beforeAll(() => {
    const m = structured(known({}));
    expect(parseMessage({ headers: m.headers, body: Buffer.from(m.body ?? '') }, undefined, fastCloudEvent)).toHaveLength(1);
  });

  for (const stamp of [undefined, STAMP]) {
    for (const [name, msg] of CASES) {
      it(`${name}${stamp ? ' (stamped)' : ''}`, () => {
        const want = withoutDefaultTime(outcome(msg, sdkCloudEvent, stamp), msg);
        for (let i = 0; i < 3; i++) expect(withoutDefaultTime(outcome(msg, fastCloudEvent, stamp), msg), `fast parse #${i + 1}`).toEqual(want);
      });
    }
  }

  it('the table covers both outcomes', () => {
    const results = CASES.map(([, m]) => outcome(m, sdkCloudEvent, STAMP));
    expect(results.filter((r) => 'error' in r).length).toBeGreaterThan(20);
    expect(results.filter((r) => 'events' in r).length).toBeGreaterThan(20);
  });

  it('surelyValidTime: the ranges of RFC 3339 (the SDK judges anything it is not sure of)', () => {
    expect(['2024-02-29T00:00:00Z', '2000-02-29T23:59:59Z', '1999-12-31T23:59:59.999+14:00'].map(surelyValidTime)).toEqual([true, true, true]);
    expect(['2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-13-01T00:00:00Z', '2024-00-10T00:00:00Z', '2024-01-01T24:00:00Z', '2016-12-31T23:59:60Z'].map(surelyValidTime)).toEqual([
      false, false, false, false, false, false, false,
    ]);
  });
});
