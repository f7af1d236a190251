import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { inject as lightInject, type InjectOptions, type Response as LightMyRequestResponse } from 'light-my-request';
import { MemoryBackend } from '../../../../broker/backends/index.js';
import { buildBrokerIngress, type BrokerIngress } from '../../../../broker/ingress/index.js';
import { InvalidIngressConfigError } from '../../../../broker/errors.js';
import { EventData } from '../../../../broker/event-data.js';
import type { HandleOutcome, StoredEvent } from '../../../../broker/types.js';
import { ManualClock } from '../../../support/clock.js';
import { freePort, waitFor } from '../../../support/wait.js';

const broker = { namespace: 'default', name: 'default' };
const URL_ = '/default/default';
const ARRIVAL = '2026-01-01T00:00:00.000Z';
const bin = (extra: Record<string, string> = {}): Record<string, string> => ({
  'ce-specversion': '1.0',
  'ce-id': 'evt-1',
  'ce-source': '/orders',
  'ce-type': 'dev.wisp.order.created',
  ...extra,
});
const structured = (obj: unknown): { method: 'POST'; url: string; headers: Record<string, string>; payload: string } => ({
  method: 'POST',
  url: URL_,
  headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
  payload: JSON.stringify(obj),
});
const base = { specversion: '1.0', id: 'evt-1', source: '/orders', type: 'dev.wisp.order.created' };
/** A stored event's data: the exact bytes (as text) and their form. */
const dataOf = (s: StoredEvent | undefined): { text: string; form: string } | undefined => {
  const d: unknown = s?.event.data;
  if (d === undefined) return undefined;
  if (!(d instanceof EventData)) throw new Error(`data is not an EventData: ${String(d)}`);
  return { text: d.bytes.toString('utf8'), form: d.form };
};
const bytesOf = (s: StoredEvent | undefined): number[] => [...((s?.event.data as EventData | undefined)?.bytes ?? [])];

let clock: ManualClock;
let backend: MemoryBackend;
let registry: Registry;
let app: BrokerIngress;
/** One request straight into the ingress's request listener (no socket), as a producer would send it. */
const inject = (opts: InjectOptions): Promise<LightMyRequestResponse> => lightInject(app.handle, opts);
let seen: StoredEvent[];
let release: Array<() => void>;

async function setup(opts: { maxQueued?: number; maxBodyBytes?: number; block?: boolean } = {}): Promise<void> {
  clock = new ManualClock();
  backend = new MemoryBackend({ clock, ...(opts.maxQueued === undefined ? {} : { maxQueued: opts.maxQueued }) });
  registry = new Registry();
  seen = [];
  release = [];
  await backend.ensureBroker(broker);
  await backend.subscribe({ broker, trigger: 'default/recorder', maxInFlight: 1 }, async (s): Promise<HandleOutcome> => {
    seen.push(s);
    if (opts.block === true) await new Promise<void>((r) => release.push(r));
    return { kind: 'done' };
  });
  app = buildBrokerIngress({
    lookup: (ns, name) => (ns === 'default' && name === 'default' ? { broker, backend } : undefined),
    clock,
    registry,
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
  });
}

beforeEach(async () => setup());
afterEach(async () => {
  for (const r of release.splice(0)) r();
  await app.close();
  const closing = backend.close();
  for (const r of release.splice(0)) r();
  await closing;
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  const v = data.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('broker ingress: accepted events', () => {
  it('binary mode: 202, stored with knativearrivaltime from the clock, attributes, extensions and data unchanged', async () => {
    const res = await inject({
      method: 'POST',
      url: URL_,
      headers: bin({ 'content-type': 'application/json', 'ce-subject': 'order-42', 'ce-time': '2025-12-31T23:59:00Z', 'ce-tenant': 'acme' }),
      payload: '{"order":42,"items":["a","b"],"note":null}',
    });
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');
    await waitFor(() => seen.length === 1);
    const e = seen[0]?.event;
    expect(e).toMatchObject({
      id: 'evt-1',
      source: '/orders',
      type: 'dev.wisp.order.created',
      specversion: '1.0',
      subject: 'order-42',
      time: '2025-12-31T23:59:00Z',
      datacontenttype: 'application/json',
      tenant: 'acme',
      knativearrivaltime: ARRIVAL,
    });
    expect(dataOf(seen[0])).toEqual({ text: '{"order":42,"items":["a","b"],"note":null}', form: 'json' });
    expect(seen[0]?.attempt).toBe(0);
  });

  it('binary mode keeps text as a string and other content types as the exact bytes', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 10]);
    expect((await inject({ method: 'POST', url: URL_, headers: bin({ 'ce-id': 'a', 'content-type': 'text/plain; charset=utf-8' }), payload: 'héllo' })).statusCode).toBe(202);
    expect((await inject({ method: 'POST', url: URL_, headers: bin({ 'ce-id': 'b', 'content-type': 'application/octet-stream' }), payload: bytes })).statusCode).toBe(202);
    expect((await inject({ method: 'POST', url: URL_, headers: bin({ 'ce-id': 'c', 'content-type': 'application/json' }), payload: '"just a string"' })).statusCode).toBe(202);
    await waitFor(() => seen.length === 3);
    expect(dataOf(seen[0])).toEqual({ text: 'héllo', form: 'text' });
    expect(seen[0]?.event.datacontenttype).toBe('text/plain; charset=utf-8');
    expect(bytesOf(seen[1])).toEqual([...bytes]);
    expect(dataOf(seen[1])?.form).toBe('binary');
    expect(dataOf(seen[2])).toEqual({ text: '"just a string"', form: 'json' });
  });

  it('structured mode (charset allowed): 202 and stored', async () => {
    const res = await inject(structured({ ...base, datacontenttype: 'application/json', data: { x: 1 }, myext: 'v' }));
    expect(res.statusCode).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(seen[0]?.event).toMatchObject({ id: 'evt-1', myext: 'v', knativearrivaltime: ARRIVAL });
    expect(dataOf(seen[0])).toEqual({ text: '{"x":1}', form: 'json' });
  });

  it('structured data_base64 arrives as the same bytes', async () => {
    const res = await inject(structured({ ...base, datacontenttype: 'image/png', data_base64: Buffer.from([1, 2, 3, 200]).toString('base64') }));
    expect(res.statusCode).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(bytesOf(seen[0])).toEqual([1, 2, 3, 200]);
    expect(dataOf(seen[0])?.form).toBe('binary');
  });

  it('batched mode: 3 events → 202 and 3 stored events in order', async () => {
    const batch = [1, 2, 3].map((i) => ({ ...base, id: `b-${i}`, data: { i } }));
    const res = await inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents-batch+json' }, payload: JSON.stringify(batch) });
    expect(res.statusCode).toBe(202);
    await waitFor(() => seen.length === 3);
    expect(seen.map((s) => [s.event.id, dataOf(s)?.text, s.event['knativearrivaltime']])).toEqual([
      ['b-1', '{"i":1}', ARRIVAL],
      ['b-2', '{"i":2}', ARRIVAL],
      ['b-3', '{"i":3}', ARRIVAL],
    ]);
    expect(await metric('wisp_broker_events_accepted_total', { broker: 'default/default' })).toBe(3);
  });

  it('CloudEvents 0.3 in binary and structured mode is accepted and kept as 0.3', async () => {
    const b = await inject({ method: 'POST', url: URL_, headers: bin({ 'ce-specversion': '0.3', 'ce-id': 'old-1', 'ce-schemaurl': 'https://x/s.json' }), payload: 'hi' });
    const s = await inject(structured({ ...base, specversion: '0.3', id: 'old-2', datacontentencoding: 'base64', data: Buffer.from('raw').toString('base64') }));
    expect([b.statusCode, s.statusCode]).toEqual([202, 202]);
    await waitFor(() => seen.length === 2);
    expect(seen.map((x) => [x.event.id, x.event.specversion])).toEqual([['old-1', '0.3'], ['old-2', '0.3']]);
    expect(seen[0]?.event['schemaurl']).toBe('https://x/s.json');
    expect(dataOf(seen[1])).toEqual({ text: 'raw', form: 'binary' });
  });

  it('replaces a producer-set knativearrivaltime with the ingress clock', async () => {
    clock.advance(1500);
    expect((await inject({ method: 'POST', url: URL_, headers: bin({ 'ce-knativearrivaltime': '1999-01-01T00:00:00Z' }) })).statusCode).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(seen[0]?.event['knativearrivaltime']).toBe('2026-01-01T00:00:01.500Z');
  });

  it('a 64 KiB event passes even at the smallest allowed limit', async () => {
    await app.close();
    await backend.close();
    await setup({ maxBodyBytes: 64 * 1024 });
    const envelope = JSON.stringify({ ...base, data: '' });
    const body = JSON.stringify({ ...base, data: 'x'.repeat(64 * 1024 - envelope.length) });
    expect(Buffer.byteLength(body)).toBe(64 * 1024);
    const res = await inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: body });
    expect(res.statusCode).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(dataOf(seen[0])?.text).toBe(`"${'x'.repeat(64 * 1024 - envelope.length)}"`);
  });
});

describe('broker ingress: rejections', () => {
  const cases: Array<[string, InjectOptions, number, string]> = [
    ['structured without id', structured({ specversion: '1.0', source: '/s', type: 't' }), 400, 'invalid CloudEvent: missing required attribute "id"'],
    ['structured with specversion 2.0', structured({ ...base, specversion: '2.0' }), 400, 'unsupported specversion "2.0"'],
    ['binary with ce-specversion 2.0', { method: 'POST', url: URL_, headers: bin({ 'ce-specversion': '2.0' }) }, 400, 'unsupported specversion "2.0"'],
    [
      'binary without ce-id',
      { method: 'POST', url: URL_, headers: { 'ce-specversion': '1.0', 'ce-source': '/s', 'ce-type': 't' } },
      400,
      'invalid CloudEvent: missing required header "ce-id" (binary mode; for structured mode send Content-Type: application/cloudevents+json)',
    ],
    [
      'a plain JSON POST (no ce-specversion)',
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: '{"a":1}' },
      400,
      'invalid CloudEvent: missing required header "ce-specversion" (binary mode; for structured mode send Content-Type: application/cloudevents+json)',
    ],
    [
      'an attribute name with capitals and _',
      structured({ ...base, Bad_Name: 'x' }),
      400,
      'invalid CloudEvent: attribute "Bad_Name": attribute names must be 1 to 20 lower-case letters or digits, got "Bad_Name"',
    ],
    [
      'an attribute name of 21 characters',
      structured({ ...base, abcdefghijklmnopqrstu: 'x' }),
      400,
      'invalid CloudEvent: attribute "abcdefghijklmnopqrstu": attribute names must be 1 to 20 lower-case letters or digits, got "abcdefghijklmnopqrstu"',
    ],
    [
      'a ce- header with an invalid attribute name',
      { method: 'POST', url: URL_, headers: bin({ 'ce-my_ext': 'v' }) },
      400,
      'invalid CloudEvent: header "ce-my_ext": attribute names must be 1 to 20 lower-case letters or digits, got "my_ext"',
    ],
    ['a structured body that is not JSON', { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: '{"id": ' }, 400, 'structured body is not valid JSON: '],
    ['an empty structured body', { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' } }, 400, 'structured body is not valid JSON: the body is empty'],
    ['a structured JSON array', structured([base]), 400, 'invalid CloudEvent: a structured event must be a JSON object, got an array'],
    [
      'binary application/json data that is not JSON',
      { method: 'POST', url: URL_, headers: bin({ 'content-type': 'application/json' }), payload: '{nope' },
      400,
      'invalid CloudEvent: data is not valid JSON for content type "application/json": ',
    ],
    ['a bad time', structured({ ...base, time: 'yesterday' }), 400, 'invalid CloudEvent: attribute "time" must be an RFC 3339 timestamp, got "yesterday"'],
    ['an object extension', structured({ ...base, ext: { a: 1 } }), 400, 'invalid CloudEvent: attribute "ext" (an extension) must be a string, an integer or a boolean, got {"a":1}'],
    ['a source that is not a URI-reference', structured({ ...base, source: 'a b' }), 400, 'invalid CloudEvent: attribute "source" must match format "uri-reference"'],
    [
      'a batch with one invalid event',
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents-batch+json' }, payload: JSON.stringify([base, { ...base, id: 'x' }, { ...base, id: undefined }]) },
      400,
      'batch event [2]: invalid CloudEvent: missing required attribute "id"',
    ],
    ['a batch that is not an array', { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents-batch+json' }, payload: '{}' }, 400, 'invalid CloudEvent: a batch body must be a JSON array, got an object'],
    [
      'application/cloudevents+xml',
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+xml' }, payload: '<e/>' },
      415,
      'unsupported content type "application/cloudevents+xml": use binary mode (ce-* headers), application/cloudevents+json or application/cloudevents-batch+json',
    ],
    [
      'application/cloudevents-batch+xml',
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents-batch+xml' }, payload: '<e/>' },
      415,
      'unsupported content type "application/cloudevents-batch+xml": use binary mode (ce-* headers), application/cloudevents+json or application/cloudevents-batch+json',
    ],
    ['an unknown broker', { method: 'POST', url: '/default/nope', headers: bin() }, 404, 'broker default/nope not found'],
    ['a path that is not /<ns>/<broker>', { method: 'POST', url: '/default/a/b', headers: bin() }, 404, 'no broker at /default/a/b: POST events to /<namespace>/<broker>'],
  ];

  for (const [what, req, status, reason] of cases) {
    it(`${what} → ${status} "${reason}"`, async () => {
      const res = await inject(req);
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const body = res.json<{ error: string }>();
      if (reason.endsWith(': ')) expect(body.error.startsWith(reason)).toBe(true);
      else expect(body.error).toBe(reason);
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual([]);
    });
  }

  it('a 2 MiB body → 413 naming the limit', async () => {
    const res = await inject({ method: 'POST', url: URL_, headers: bin({ 'content-type': 'application/octet-stream' }), payload: Buffer.alloc(2 * 1024 * 1024, 1) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'request body is larger than the limit of 1048576 bytes' });
    expect(await metric('wisp_broker_events_rejected_total', { broker: 'default/default', reason: 'too_large' })).toBe(1);
  });

  it('GET, PUT, DELETE → 405 with Allow: POST, OPTIONS; OPTIONS → 200 with Allow', async () => {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const res = await inject({ method, url: URL_ });
      expect(res.statusCode).toBe(405);
      expect(res.headers['allow']).toBe('POST, OPTIONS');
      expect(res.json()).toEqual({ error: `method ${method} not allowed: the broker ingress accepts POST and OPTIONS` });
    }
    const opt = await inject({ method: 'OPTIONS', url: URL_, headers: { 'webhook-request-origin': 'example.com' } });
    expect(opt.statusCode).toBe(200);
    expect(opt.headers['allow']).toBe('POST, OPTIONS');
    expect(opt.headers['webhook-allowed-origin']).toBe('*');
  });

  it('backend full → 503 with Retry-After: 1, counted as backlog_full', async () => {
    await app.close();
    await backend.close();
    await setup({ maxQueued: 1, block: true });
    const send = (id: string): Promise<LightMyRequestResponse> => inject({ method: 'POST', url: URL_, headers: bin({ 'ce-id': id }) });
    expect((await send('1')).statusCode).toBe(202); // in the handler, blocked
    await waitFor(() => seen.length === 1);
    expect((await send('2')).statusCode).toBe(202); // queued: the queue is now full
    const full = await send('3');
    expect(full.statusCode).toBe(503);
    expect(full.headers['retry-after']).toBe('1');
    expect(full.json()).toEqual({ error: 'broker default/default: queue of trigger default/recorder is full (1 events waiting, limit 1)' });
    expect(await metric('wisp_broker_events_rejected_total', { broker: 'default/default', reason: 'backlog_full' })).toBe(1);
  });

  it('rejects a maxBodyBytes below 64 KiB at construction', () => {
    expect(() => buildBrokerIngress({ lookup: () => undefined, clock, registry: new Registry(), maxBodyBytes: 1000 })).toThrow(InvalidIngressConfigError);
  });
});

describe('broker ingress: metrics and robustness', () => {
  it('counts accepted events and rejected requests per broker and reason, and observes latency', async () => {
    await inject({ method: 'POST', url: URL_, headers: bin() });
    await inject({ method: 'POST', url: URL_, headers: bin({ 'ce-specversion': '9' }) });
    await inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+xml' }, payload: 'x' });
    await inject({ method: 'POST', url: '/default/nope', headers: bin() });
    await inject({ method: 'GET', url: URL_ });
    expect(await metric('wisp_broker_events_accepted_total', { broker: 'default/default' })).toBe(1);
    for (const [broker, reason] of [['default/default', 'invalid'], ['default/default', 'unsupported_media_type'], ['default/nope', 'not_found'], ['default/default', 'method_not_allowed']]) {
      expect(await metric('wisp_broker_events_rejected_total', { broker: broker as string, reason: reason as string })).toBe(1);
    }
    const text = await registry.metrics();
    expect(text).toContain('wisp_broker_ingress_request_duration_seconds_count{broker="default/default"} 4');
  });

  it('never crashes on garbage: every odd request gets a 4xx and the next good event still gets 202', async () => {
    const odd: Array<InjectOptions> = [
      { method: 'POST', url: URL_, headers: { 'content-type': ';;;=' }, payload: 'x' },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: 'null' },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: '"str"' },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: Buffer.from([0xff, 0xfe, 0x00]) },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents-batch+json' }, payload: '[null, 1]' },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: JSON.stringify({ ...base, data: 1, data_base64: 'AA==' }) },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: JSON.stringify({ ...base, data_base64: '!!!' }) },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: JSON.stringify({ ...base, id: 5 }) },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: JSON.stringify({ ...base, specversion: 1 }) },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: JSON.stringify({ ...base, schemaurl: 'https://x' }) },
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/cloudevents+json' }, payload: '{"__proto__": {"x": 1}, "constructor": 1}' },
      { method: 'POST', url: URL_, headers: bin({ 'ce-id': '' }) },
      { method: 'POST', url: URL_, headers: bin({ 'ce-': 'empty-name' }) },
      { method: 'POST', url: URL_, headers: bin({ 'ce-time': 'not a time' }) },
      { method: 'POST', url: URL_, headers: bin({ 'content-type': 'application/vnd.x+json' }), payload: '[' },
      { method: 'POST', url: '/%ZZ/default', headers: bin() },
    ];
    for (const req of odd) {
      const res = await inject(req);
      expect(res.statusCode, `${JSON.stringify(req.headers)} ${String(req.payload)}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(Object.keys(res.json<object>())).toEqual(['error']);
    }
    expect((await inject({ method: 'POST', url: URL_, headers: bin({ 'ce-id': 'good' }) })).statusCode).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(seen.map((s) => s.event.id)).toEqual(['good']);
  });

  it('routes /<ns>/<broker> with a query string, answers 405 to PATCH and HEAD, and 400 to a malformed percent-encoding', async () => {
    expect((await inject({ method: 'POST', url: `${URL_}?via=test`, headers: bin({ 'ce-id': 'q' }) })).statusCode).toBe(202);
    const patch = await inject({ method: 'PATCH', url: URL_ });
    expect(patch.statusCode).toBe(405);
    expect(patch.headers['allow']).toBe('POST, OPTIONS');
    const head = await inject({ method: 'HEAD', url: URL_ });
    expect(head.statusCode).toBe(405);
    expect(head.body).toBe('');
    const bad = await inject({ method: 'POST', url: '/%ZZ/default', headers: bin() });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'invalid URL "/%ZZ/default": malformed percent-encoding' });
    await waitFor(() => seen.length === 1);
    expect(seen.map((e) => e.event.id)).toEqual(['q']);
  });

  it('on a real socket: a Content-Length over the limit is refused before the body is read; a garbled request line gets 400; then a good event passes', async () => {
    const port = await freePort();
    await app.listen({ port, host: '127.0.0.1' });
    const raw = (text: string): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        let got = '';
        const sock = connect(port, '127.0.0.1', () => sock.write(text));
        sock.on('data', (c: Buffer) => (got += c.toString()));
        sock.on('end', () => resolve(got));
        sock.on('close', () => resolve(got));
        sock.on('error', reject);
      });
    const big = await raw(`POST ${URL_} HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: a\r\nce-source: /s\r\nce-type: t\r\nContent-Length: 5000000\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 413 /);
    expect(big).toContain('request body is larger than the limit of 1048576 bytes');
    const garbled = await raw('NOT AN HTTP REQUEST\r\n\r\n');
    expect(garbled).toMatch(/^HTTP\/1\.1 400 /);
    const res = await fetch(`http://127.0.0.1:${port}${URL_}`, { method: 'POST', headers: bin({ 'ce-id': 'after' }), body: 'ok' });
    expect(res.status).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(seen[0]?.event.id).toBe('after');
  });

  it('survives a client that aborts mid-body on a real socket', async () => {
    const port = await freePort();
    await app.listen({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write(`POST ${URL_} HTTP/1.1\r\nHost: x\r\nce-specversion: 1.0\r\nce-id: a\r\nce-source: /s\r\nce-type: t\r\nContent-Length: 100000\r\n\r\npartial`, () => {
          sock.destroy();
          resolve();
        });
      });
      sock.on('error', reject);
    });
    const res = await fetch(`http://127.0.0.1:${port}${URL_}`, { method: 'POST', headers: bin({ 'ce-id': 'after' }), body: 'ok' });
    expect(res.status).toBe(202);
    await waitFor(() => seen.length === 1);
    expect(seen[0]?.event.id).toBe('after');
  });
});
