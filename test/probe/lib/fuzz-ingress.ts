/**
 * Fuzz cases for the broker ingress (:broker) and the service ingress (:ingress): malformed CloudEvents in every
 * content mode, bad URLs and methods, oversized and garbled HTTP, many or huge extensions, and valid events
 * whose bodies a JSON round trip would change (they must arrive byte for byte).
 */
import { randomBytes } from 'node:crypto';
import { binaryHeaders, rawRequest, structuredEvent } from './events.js';
import { type FuzzCase, type FuzzContext, type FuzzRequest, is, is4xx, is4xxOrClosed } from './fuzz-types.js';

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

function binary(ctx: FuzzContext, tag: string, body: Buffer | string, extra: Record<string, string> = {}, exact = false): FuzzRequest {
  const id = ctx.id(tag);
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return {
    port: 'broker',
    data: rawRequest({ path: ctx.brokerPath(), headers: binaryHeaders(id, extra), body: bytes }),
    ids: [id],
    ...(exact ? { exact: new Map([[id, bytes]]) } : {}),
  };
}

/** A binary-mode request with the required headers, minus/plus some. */
function binaryHeadersCase(ctx: FuzzContext, tag: string, mutate: (h: Record<string, string>) => void): FuzzRequest {
  const id = ctx.id(tag);
  const h = binaryHeaders(id);
  mutate(h);
  return { port: 'broker', data: rawRequest({ path: ctx.brokerPath(), headers: h, body: '{"x":1}' }), ids: [id] };
}

function structured(ctx: FuzzContext, tag: string, body: (id: string) => string, contentType = STRUCTURED): FuzzRequest {
  const id = ctx.id(tag);
  return { port: 'broker', data: rawRequest({ path: ctx.brokerPath(), headers: { 'content-type': contentType }, body: body(id) }), ids: [id] };
}

function batch(ctx: FuzzContext, tag: string, n: number, bad?: number): FuzzRequest {
  const ids = Array.from({ length: n }, (_, i) => ctx.id(`${tag}${i}`));
  const events = ids.map((id, i) => (i === bad ? { specversion: '1.0', id, type: 'x' } : structuredEvent(id)));
  return { port: 'broker', data: rawRequest({ path: ctx.brokerPath(), headers: { 'content-type': BATCH }, body: JSON.stringify(events) }), ids };
}

function extensions(n: number, valueBytes: number): Record<string, string> {
  const ext: Record<string, string> = {};
  for (let i = 0; i < n; i++) ext[`x${i.toString(36)}`] = 'v'.repeat(valueBytes);
  return ext;
}

/** Many or huge extensions: refused with 413/431, or accepted with every extension delivered (checked later). */
function manyExtensions(ctx: FuzzContext, tag: string, mode: 'binary' | 'structured', n: number, valueBytes: number): FuzzRequest {
  const id = ctx.id(tag);
  const ext = extensions(n, valueBytes);
  const data =
    mode === 'binary'
      ? rawRequest({ path: ctx.brokerPath(), headers: binaryHeaders(id, Object.fromEntries(Object.entries(ext).map(([k, v]) => [`ce-${k}`, v]))), body: '{}' })
      : rawRequest({ path: ctx.brokerPath(), headers: { 'content-type': STRUCTURED }, body: JSON.stringify(structuredEvent(id, ext)) });
  return { port: 'broker', data, ids: [id], extensions: new Map([[id, ext]]), timeoutMs: 10_000 };
}

const refusedOrAccepted = (s: number | undefined): boolean => s === 202 || s === 413 || s === 431;
const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);

export const INGRESS_CASES: FuzzCase[] = [
  // Valid events: accepted and delivered.
  { name: 'valid binary', port: 'broker', weight: 10, expect: '202', ok: is(202), make: (c) => binary(c, 'vb', '{"ok":true}') },
  { name: 'valid structured', port: 'broker', weight: 6, expect: '202', ok: is(202), make: (c) => structured(c, 'vs', (id) => JSON.stringify(structuredEvent(id))) },
  { name: 'valid batch of 5', port: 'broker', weight: 4, expect: '202', ok: is(202), make: (c) => batch(c, 'vbatch', 5) },
  { name: 'valid 0.3 structured', port: 'broker', weight: 2, expect: '202', ok: is(202), make: (c) => structured(c, 'v03', (id) => JSON.stringify({ ...structuredEvent(id), specversion: '0.3' })) },
  { name: 'valid binary, no body', port: 'broker', weight: 2, expect: '202', ok: is(202), make: (c) => {
    const id = c.id('empty');
    const h = binaryHeaders(id);
    delete h['content-type'];
    return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: h }), ids: [id], exact: new Map([[id, Buffer.alloc(0)]]) };
  } },
  { name: 'valid binary with Expect: 100-continue', port: 'broker', weight: 1, expect: '202', ok: is(202), make: (c) => binary(c, 'cont', '{"a":1}', { expect: '100-continue' }) },
  { name: 'valid 64 KiB event', port: 'broker', weight: 1, expect: '202 (events up to 64 KiB always pass)', ok: is(202), make: (c) => binary(c, 'big64', JSON.stringify({ pad: 'p'.repeat(64 * 1024 - 20) }), {}, true) },
  { name: '200 extensions (binary)', port: 'broker', weight: 2, expect: '202, every extension delivered', ok: refusedOrAccepted, make: (c) => manyExtensions(c, 'ext200', 'binary', 200, 8) },
  // Data that a JSON round trip would change: must arrive byte for byte.
  { name: 'exact: big integer', port: 'broker', weight: 3, expect: '202, body byte-exact', ok: is(202), make: (c) => binary(c, 'bigint', '12345678901234567890123', {}, true) },
  { name: 'exact: JSON with spacing, 1.0, 1e400, escapes', port: 'broker', weight: 3, expect: '202, body byte-exact', ok: is(202), make: (c) => binary(c, 'jsonfmt', '{ "a" : 1.0,\n "b":1e400, "c":"\\ud800\\u00e9", "a":2 }', {}, true) },
  { name: 'exact: JSON string with invalid UTF-8 bytes', port: 'broker', weight: 3, expect: '202, body byte-exact', ok: is(202), make: (c) => binary(c, 'badutf8', Buffer.from([0x22, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x22]), {}, true) },
  { name: 'exact: not JSON, as application/json', port: 'broker', weight: 1, expect: '202 byte-exact, or 400 naming the content type', ok: is(202, 400), make: (c) => binary(c, 'notjson', Buffer.from([0x7b, 0xff, 0x7d, 0x2c]), {}, true) },
  { name: 'exact: random bytes as octet-stream', port: 'broker', weight: 3, expect: '202, body byte-exact', ok: is(202), make: (c) => binary(c, 'octets', randomBytes(512), { 'content-type': 'application/octet-stream' }, true) },
  { name: 'exact: BOM + text/plain', port: 'broker', weight: 2, expect: '202, body byte-exact', ok: is(202), make: (c) => binary(c, 'bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('héllo\r\n\0')]), { 'content-type': 'text/plain; charset=utf-8' }, true) },
  { name: 'exact: structured data_base64', port: 'broker', weight: 3, expect: '202, decoded bytes exact', ok: is(202), make: (c) => {
    const id = c.id('b64');
    const bytes = randomBytes(300);
    const body = JSON.stringify({ ...structuredEvent(id), datacontenttype: 'application/octet-stream', data: undefined, data_base64: bytes.toString('base64') });
    return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { 'content-type': STRUCTURED }, body }), ids: [id], exact: new Map([[id, bytes]]) };
  } },
  { name: 'exact: structured data 12345678901234567890123', port: 'broker', weight: 2, expect: '202, data bytes exact', ok: is(202), make: (c) => {
    const id = c.id('sbig');
    const body = `{"specversion":"1.0","id":"${id}","source":"/p","type":"t","datacontenttype":"application/json","data":12345678901234567890123}`;
    return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { 'content-type': STRUCTURED }, body }), ids: [id], exact: new Map([[id, Buffer.from('12345678901234567890123')]]) };
  } },
  { name: 'exact: batch data {"a":1.0,"b":1e400}', port: 'broker', weight: 2, expect: '202, data bytes exact', ok: is(202), make: (c) => {
    const ids = [c.id('bexact0'), c.id('bexact1')];
    const raw = '{"a":1.0,"b":1e400}';
    const body = `[${ids.map((id) => `{"specversion":"1.0","id":"${id}","source":"/p","type":"t","datacontenttype":"application/json","data":${raw}}`).join(',')}]`;
    return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { 'content-type': BATCH }, body }), ids, exact: new Map(ids.map((id) => [id, Buffer.from(raw)])) };
  } },
  // Malformed binary mode.
  { name: 'binary: missing ce-id', port: 'broker', weight: 3, expect: '400', ok: is(400), make: (c) => binaryHeadersCase(c, 'noid', (h) => delete h['ce-id']) },
  { name: 'binary: missing ce-source', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => binaryHeadersCase(c, 'nosrc', (h) => delete h['ce-source']) },
  { name: 'binary: empty ce-type', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => binaryHeadersCase(c, 'notype', (h) => (h['ce-type'] = '')) },
  { name: 'binary: specversion 2.0', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => binaryHeadersCase(c, 'sv2', (h) => (h['ce-specversion'] = '2.0')) },
  { name: 'binary: attribute name ce-Bad_Name', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => binaryHeadersCase(c, 'badname', (h) => (h['ce-Bad_Name'] = 'x')) },
  { name: 'binary: 21-char attribute name', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => binaryHeadersCase(c, 'longname', (h) => (h['ce-abcdefghijklmnopqrstu'] = 'x')) },
  { name: 'binary: invalid ce-time', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => binaryHeadersCase(c, 'badtime', (h) => (h['ce-time'] = 'yesterday at noon')) },
  { name: 'binary: control byte in header', port: 'broker', weight: 2, expect: '400', ok: is4xxOrClosed, make: (c) => binaryHeadersCase(c, 'ctl', (h) => (h['ce-source'] = '/a\x01b')) },
  { name: 'binary: latin1 byte in ce-subject', port: 'broker', weight: 1, expect: '202 or 400', ok: is(202, 400), make: (c) => binaryHeadersCase(c, 'latin', (h) => (h['ce-subject'] = 'caf\xe9')) },
  // Malformed structured mode.
  { name: 'structured: invalid JSON', port: 'broker', weight: 3, expect: '400', ok: is(400), make: (c) => structured(c, 'sjson', (id) => `{"id":"${id}", "specversion":`) },
  { name: 'structured: JSON array', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => structured(c, 'sarr', (id) => JSON.stringify([structuredEvent(id)])) },
  { name: 'structured: {}', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => structured(c, 'sempty', () => '{}') },
  { name: 'structured: id is a number', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => structured(c, 'snum', (id) => JSON.stringify({ ...structuredEvent(id), id: 5 })) },
  { name: 'structured: data and data_base64', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => structured(c, 'sboth', (id) => JSON.stringify({ ...structuredEvent(id), data_base64: 'AAAA' })) },
  { name: 'structured: data_base64 not base64', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => structured(c, 'sb64', (id) => JSON.stringify({ ...structuredEvent(id), data: undefined, data_base64: '!!!*' })) },
  { name: 'structured: data 100 000 levels deep', port: 'broker', weight: 1, expect: '4xx, or 202 and delivered', ok: (s) => s === 202 || is4xx(s), make: (c) => structured(c, 'sdeep', (id) => `{"specversion":"1.0","id":"${id}","source":"/p","type":"t","data":${deep(100_000)}}`) },
  { name: 'structured: application/cloudevents+xml', port: 'broker', weight: 2, expect: '415', ok: is(415), make: (c) => structured(c, 'sxml', (id) => `<e id="${id}"/>`, 'application/cloudevents+xml') },
  { name: 'structured: 5 000 extensions', port: 'broker', weight: 1, expect: '413/431, or 202 with all delivered', ok: refusedOrAccepted, make: (c) => manyExtensions(c, 'sext5k', 'structured', 5000, 4) },
  { name: 'structured: one 200 KB extension', port: 'broker', weight: 1, expect: '413/431, or 202 with all delivered', ok: refusedOrAccepted, make: (c) => manyExtensions(c, 'sexthuge', 'structured', 1, 200_000) },
  { name: 'structured: control characters in datacontenttype', port: 'broker', weight: 2, expect: '400, or 202 and delivered', ok: is(202, 400), make: (c) => structured(c, 'sdct', (id) => JSON.stringify({ ...structuredEvent(id), datacontenttype: 'text/plain\u0000\ud800x' })) },
  { name: 'structured: CRLF header injection in an extension', port: 'broker', weight: 2, expect: '400, or 202 and delivered without the injected header', ok: is(202, 400), make: (c) => {
    const r = structured(c, 'sinj', (id) => JSON.stringify({ ...structuredEvent(id), inj: 'a\r\nx-injected: 1\r\n\r\nbody' }));
    return { ...r, forbidden: new Map((r.ids ?? []).map((id) => [id, ['x-injected']])) };
  } },
  { name: 'structured: CRLF in subject and source', port: 'broker', weight: 2, expect: '400, or 202 and delivered without the injected header', ok: is(202, 400), make: (c) => {
    const r = structured(c, 'sinj2', (id) => JSON.stringify({ ...structuredEvent(id), subject: 'x\nx-injected: 2', source: '/a\r\nx-injected: 3' }));
    return { ...r, forbidden: new Map((r.ids ?? []).map((id) => [id, ['x-injected']])) };
  } },
  { name: 'structured: non-ASCII subject and extension', port: 'broker', weight: 2, expect: '202, both delivered intact', ok: is(202), make: (c) => {
    const attrs = { subject: 'café ☕ \u{1F600} 100%', uni: 'Grüße, 世界' };
    const r = structured(c, 'suni', (id) => JSON.stringify({ ...structuredEvent(id), ...attrs }));
    return { ...r, extensions: new Map((r.ids ?? []).map((id) => [id, attrs])) };
  } },
  // Malformed batches.
  { name: 'batch: not an array', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => structured(c, 'bobj', (id) => JSON.stringify(structuredEvent(id)), BATCH) },
  { name: 'batch: array of numbers', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => structured(c, 'bnum', () => '[1,2,3]', BATCH) },
  { name: 'batch: one invalid of 5', port: 'broker', weight: 3, expect: '400, none delivered', ok: is(400), make: (c) => batch(c, 'bbad', 5, 3) },
  { name: 'batch: 40 events with a NUL in datacontenttype', port: 'broker', weight: 1, expect: '400, or 202 and all delivered', ok: is(202, 400), make: (c) => {
    const ids = Array.from({ length: 40 }, (_, i) => c.id(`bnul${i}`));
    const body = JSON.stringify(ids.map((id) => ({ ...structuredEvent(id), datacontenttype: 'text/plain\u0000x' })));
    return { port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { 'content-type': BATCH }, body }), ids };
  } },
  { name: 'batch: empty array', port: 'broker', weight: 1, expect: '2xx or 400', ok: (s) => s === 202 || s === 200 || s === 204 || s === 400, make: (c) => ({ ...structured(c, 'bempty', () => '[]', BATCH), ids: [] }) },
  { name: 'batch: application/cloudevents-batch+xml', port: 'broker', weight: 1, expect: '415', ok: is(415), make: (c) => structured(c, 'bxml', () => '<b/>', 'application/cloudevents-batch+xml') },
  // Many or huge extensions in binary mode (headers).
  { name: 'binary: 2 500 extension headers', port: 'broker', weight: 1, expect: '413/431, or 202 with all delivered', ok: refusedOrAccepted, make: (c) => manyExtensions(c, 'bext2500', 'binary', 2500, 1) },
  { name: 'binary: one 20 KB header', port: 'broker', weight: 2, expect: '431', ok: is(431), make: (c) => binary(c, 'bighdr', '{}', { 'x-big': 'a'.repeat(20_000) }) },
  { name: 'binary: 60 KB of headers', port: 'broker', weight: 1, expect: '431', ok: is(431), make: (c) => binary(c, 'hdr60', '{}', Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x-h${i}`, 'b'.repeat(1000)]))) },
  // URL, method, size, HTTP framing.
  { name: 'URL: bad percent-encoding', port: 'broker', weight: 3, expect: '400', ok: is(400), make: (c) => ({ port: 'broker', data: rawRequest({ path: '/default/%E0%A4%A', headers: binaryHeaders(c.id('pct')), body: '{}' }) }) },
  { name: 'URL: %zz in namespace', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => ({ port: 'broker', data: rawRequest({ path: '/%zz/b', headers: binaryHeaders(c.id('pct2')), body: '{}' }) }) },
  { name: 'URL: unknown broker', port: 'broker', weight: 3, expect: '404', ok: is(404), make: (c) => ({ port: 'broker', data: rawRequest({ path: '/default/no-such-broker', headers: binaryHeaders(c.id('nob')), body: '{}' }) }) },
  { name: 'URL: /a/b/c', port: 'broker', weight: 1, expect: '404', ok: is(404), make: (c) => ({ port: 'broker', data: rawRequest({ path: '/a/b/c', headers: binaryHeaders(c.id('abc')), body: '{}' }) }) },
  { name: 'URL: 20 KB path', port: 'broker', weight: 1, expect: '4xx', ok: is4xx, make: () => ({ port: 'broker', data: rawRequest({ path: `/default/${'p'.repeat(20_000)}`, body: '{}' }) }) },
  { name: 'method: PATCH', port: 'broker', weight: 2, expect: '405', ok: is(405), make: (c) => ({ port: 'broker', data: rawRequest({ method: 'PATCH', path: c.brokerPath(), body: '{}' }) }) },
  { name: 'method: GET', port: 'broker', weight: 2, expect: '405', ok: is(405), make: (c) => ({ port: 'broker', data: rawRequest({ method: 'GET', path: c.brokerPath() }) }) },
  { name: 'method: HEAD', port: 'broker', weight: 1, expect: '405', ok: is(405), make: (c) => ({ port: 'broker', head: true, data: rawRequest({ method: 'HEAD', path: c.brokerPath() }) }) },
  { name: 'method: OPTIONS', port: 'broker', weight: 1, expect: '200', ok: is(200), make: (c) => ({ port: 'broker', data: rawRequest({ method: 'OPTIONS', path: c.brokerPath() }) }) },
  { name: 'size: Content-Length 2 MiB declared', port: 'broker', weight: 2, expect: '413', ok: is(413), make: (c) => ({ port: 'broker', data: [rawRequest({ path: c.brokerPath(), headers: { ...binaryHeaders(c.id('cl2m')), 'content-length': String(2 * 1024 * 1024) } }), 'x'.repeat(1000)] }) },
  { name: 'size: 1.1 MiB chunked body', port: 'broker', weight: 1, expect: '413 (or a reset while the body is still being sent)', ok: (st, f) => st === 413 || (st === undefined && f === 'reset'), make: (c) => {
    const chunk = 'y'.repeat(64 * 1024);
    const parts: string[] = [];
    for (let i = 0; i < 18; i++) parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    parts.push('0\r\n\r\n');
    return { port: 'broker', data: [rawRequest({ path: c.brokerPath(), headers: { ...binaryHeaders(c.id('chunk')), 'transfer-encoding': 'chunked' } }), ...parts] };
  } },
  { name: 'HTTP: no Host', port: 'broker', weight: 2, expect: '400', ok: is(400), make: (c) => ({ port: 'broker', data: rawRequest({ path: c.brokerPath(), host: null, headers: binaryHeaders(c.id('nohost')), body: '{}' }) }) },
  { name: 'HTTP: Content-Length and Transfer-Encoding', port: 'broker', weight: 2, expect: '400', ok: is4xxOrClosed, make: (c) => ({ port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { ...binaryHeaders(c.id('smuggle')), 'content-length': '4', 'transfer-encoding': 'chunked' }, body: '0\r\n\r\n' }) }) },
  { name: 'HTTP: invalid chunk size', port: 'broker', weight: 2, expect: '400', ok: is4xxOrClosed, make: (c) => ({ port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: { ...binaryHeaders(c.id('badchunk')), 'transfer-encoding': 'chunked' }, body: 'zz\r\nabc\r\n0\r\n\r\n' }) }) },
  { name: 'HTTP: garbage bytes', port: 'broker', weight: 3, expect: '400 or close', ok: is4xxOrClosed, make: () => ({ port: 'broker', data: Buffer.concat([randomBytes(200), Buffer.from('\r\n\r\n')]) }) },
  { name: 'HTTP: garbled request line', port: 'broker', weight: 2, expect: '400 or close', ok: is4xxOrClosed, make: () => ({ port: 'broker', data: Buffer.from('POST  /default/x HTTP/9.9 extra\r\nHost: a\r\n\r\n') }) },
  // RFC 9112 §3.2: a server MUST answer 400 to a request with more than one Host header.
  { name: 'HTTP: two Host headers', port: 'broker', weight: 1, expect: '400', ok: (st, f) => st === 400 || (st === undefined && f === 'closed'), make: (c) => ({ port: 'broker', data: rawRequest({ path: c.brokerPath(), host: null, headers: [['Host', '127.0.0.1'], ['Host', 'evil.example'], ...Object.entries(binaryHeaders(c.id('twohost')))], body: '{}' }) }) },
  { name: 'HTTP: two different Content-Length', port: 'broker', weight: 1, expect: '400', ok: is4xxOrClosed, make: (c) => ({ port: 'broker', data: rawRequest({ path: c.brokerPath(), headers: [...Object.entries(binaryHeaders(c.id('twocl'))), ['Content-Length', '2'], ['Content-Length', '3']], body: '{}' }) }) },
  // Service ingress (activator).
  { name: 'service ingress: unknown Host', port: 'ingress', weight: 3, expect: '404', ok: is(404), make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/', host: 'nope.default.localhost' }) }) },
  { name: 'service ingress: no Host', port: 'ingress', weight: 2, expect: '400', ok: is(400), make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/', host: null }) }) },
  { name: 'service ingress: 20 KB header', port: 'ingress', weight: 1, expect: '431', ok: is(431), make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/', host: 'a.default.localhost', headers: { 'x-big': 'a'.repeat(20_000) } }) }) },
  { name: 'service ingress: garbage bytes', port: 'ingress', weight: 2, expect: '400 or close', ok: is4xxOrClosed, make: () => ({ port: 'ingress', data: Buffer.concat([randomBytes(100), Buffer.from('\r\n\r\n')]) }) },
  { name: 'service ingress: path /%zz/x', port: 'ingress', weight: 1, expect: '4xx', ok: is4xx, make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/%zz/x', host: '127.0.0.1' }) }) },
  { name: 'service ingress: path /default/nope', port: 'ingress', weight: 1, expect: '404', ok: is(404), make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/default/nope/x?y=1', host: '127.0.0.1' }) }) },
  { name: 'service ingress: path traversal', port: 'ingress', weight: 1, expect: '4xx', ok: is4xx, make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/../../etc/passwd', host: '127.0.0.1' }) }) },
  { name: 'service ingress: two Host headers', port: 'ingress', weight: 1, expect: '400', ok: (st, f) => st === 400 || (st === undefined && f === 'closed'), make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/', host: null, headers: [['Host', 'nope.default.localhost'], ['Host', 'other.default.localhost']] }) }) },
  { name: 'service ingress: 5 KB Host', port: 'ingress', weight: 1, expect: '4xx', ok: is4xx, make: () => ({ port: 'ingress', data: rawRequest({ method: 'GET', path: '/', host: `${'h'.repeat(5000)}.default.localhost` }) }) },
];
