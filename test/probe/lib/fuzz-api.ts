/**
 * Fuzz cases for the control API: hostile bodies (deep JSON, deep CESQL and filters, YAML billion laughs,
 * thousands of unknown fields, bad names, file: sinks, oversized and malformed bodies), unknown paths, and
 * requests sent without (or with a wrong) token on purpose. Every hostile body must get a 4xx, never a 5xx.
 */
import { rawRequest } from './events.js';
import { type FuzzCase, type FuzzContext, type FuzzRequest, is, is4xx } from './fuzz-types.js';

const EV = '/apis/eventing.knative.dev/v1/namespaces/default';
const SV = '/apis/serving.knative.dev/v1/namespaces/default';
const SRC = '/apis/sources.knative.dev/v1/namespaces/default';

function put(ctx: FuzzContext, path: string, body: string, contentType = 'application/json', auth: Record<string, string> = ctx.auth()): FuzzRequest {
  return { port: 'api', timeoutMs: 20_000, data: rawRequest({ method: 'PUT', path, headers: { 'content-type': contentType, ...auth }, body }) };
}

const deepArrays = (n: number): string => '['.repeat(n) + ']'.repeat(n);

function broker(name: string, extra = ''): string {
  return `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"${name}","namespace":"default"${extra}}}`;
}

function trigger(name: string, spec: string): string {
  return `{"apiVersion":"eventing.knative.dev/v1","kind":"Trigger","metadata":{"name":"${name}"},"spec":${spec}}`;
}

function nestedNot(n: number): string {
  return '{"not":'.repeat(n) + '{"exact":{"type":"x"}}' + '}'.repeat(n);
}

const BILLION_LAUGHS = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: laughs
  annotations:
    a0: &a0 "lol"
    a1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
    a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
    a3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
    a4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
    a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
    a6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
    a7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
    a8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]
    a9: [*a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]
`;

const sub = '"subscriber":{"uri":"http://127.0.0.1:9/x"}';

/**
 * Unknown fields are warned about, never dropped (DESIGN §2, as Kubernetes' fieldValidation=Warn): an object with
 * thousands of them may be refused, or accepted with a bounded list of warnings, never answered with one Warning
 * per field (a small request amplified into a huge response head).
 */
const MAX_WARNINGS = 100;
const warnings = (head: string): number => head.split('\r\n').filter((l) => /^warning:/i.test(l)).reduce((n, l) => n + (l.match(/299 - "/g)?.length ?? 1), 0);

export const API_CASES: FuzzCase[] = [
  { name: 'api: valid Broker apply', port: 'api', weight: 2, expect: '200/201', ok: is(200, 201), make: (c) => put(c, `${EV}/brokers/fuzz-ok`, broker('fuzz-ok')) },
  { name: 'api: list brokers', port: 'api', weight: 3, expect: '200', ok: is(200), make: (c) => ({ port: 'api', data: rawRequest({ method: 'GET', path: `${EV}/brokers`, headers: c.auth() }) }) },
  { name: 'api: JSON 100 000 deep in unknown field', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('deepu');
    return put(c, `${EV}/brokers/${n}`, `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"${n}"},"spec":{"zzz":${deepArrays(100_000)}}}`);
  } },
  { name: 'api: JSON 100 000 deep in annotation', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('deepa');
    return put(c, `${EV}/brokers/${n}`, broker(n, `,"annotations":{"a":${deepArrays(100_000)}}`));
  } },
  { name: 'api: JSON 100 000 deep in env value', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('deepe');
    return put(c, `${SV}/services/${n}`, `{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"${n}"},"spec":{"template":{"spec":{"containers":[{"image":"x","env":[{"name":"A","value":${deepArrays(100_000)}}]}]}}}}`);
  } },
  { name: 'api: JSON 100 000 deep objects', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('deepo');
    return put(c, `${EV}/brokers/${n}`, `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"${n}"},"spec":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`);
  } },
  { name: 'api: YAML 100 000 deep flow sequence', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => put(c, `${EV}/brokers/yamldeep`, `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: yamldeep\nspec:\n  x: ${deepArrays(100_000)}\n`, 'application/yaml') },
  { name: 'api: YAML 1 000 deep block mappings', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const lines = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(2 + i)}k${i}:`).join('\n');
    return put(c, `${EV}/brokers/yamlblock`, `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: yamlblock\nspec:\n${lines} 1\n`, 'application/yaml');
  } },
  { name: 'api: CESQL 20 000 parentheses', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('cesqlp');
    return put(c, `${EV}/triggers/${n}`, trigger(n, `{"broker":"fuzz-mem","filters":[{"cesql":"${'('.repeat(20_000)}true${')'.repeat(20_000)}"}],${sub}}`));
  } },
  { name: 'api: CESQL 50 000 chained NOT', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('cesqln');
    return put(c, `${EV}/triggers/${n}`, trigger(n, `{"broker":"fuzz-mem","filters":[{"cesql":"${'NOT '.repeat(50_000)}true"}],${sub}}`));
  } },
  { name: 'api: filters with 3 000 nested not', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('nots');
    return put(c, `${EV}/triggers/${n}`, trigger(n, `{"broker":"fuzz-mem","filters":[${nestedNot(3000)}],${sub}}`));
  } },
  { name: 'api: YAML billion laughs', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => put(c, `${EV}/brokers/laughs`, BILLION_LAUGHS, 'application/yaml') },
  { name: 'api: 2 000 unknown fields', port: 'api', weight: 1, expect: '4xx, or 2xx with at most 100 Warning headers', ok: (s, _f, head) => is4xx(s) || (s !== undefined && s >= 200 && s < 300 && warnings(head) <= MAX_WARNINGS), make: (c) => {
    const n = c.name('unk');
    const fields = Array.from({ length: 2000 }, (_, i) => `"u${i}":${i}`).join(',');
    return put(c, `${EV}/brokers/${n}`, `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"${n}"},"spec":{${fields}}}`);
  } },
  { name: 'api: name Bad_Name.X', port: 'api', weight: 2, expect: '4xx', ok: is4xx, make: (c) => put(c, `${EV}/brokers/Bad_Name.X`, broker('Bad_Name.X')) },
  { name: 'api: Trigger sink file:///etc/passwd', port: 'api', weight: 2, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('file');
    return put(c, `${EV}/triggers/${n}`, trigger(n, '{"broker":"fuzz-mem","subscriber":{"uri":"file:///etc/passwd"}}'));
  } },
  { name: 'api: PingSource sink file:///etc/passwd', port: 'api', weight: 1, expect: '4xx', ok: is4xx, make: (c) => {
    const n = c.name('pfile');
    return put(c, `${SRC}/pingsources/${n}`, `{"apiVersion":"sources.knative.dev/v1","kind":"PingSource","metadata":{"name":"${n}"},"spec":{"schedule":"* * * * *","sink":{"uri":"file:///etc/passwd"}}}`);
  } },
  { name: 'api: malformed JSON', port: 'api', weight: 3, expect: '400', ok: is(400), make: (c) => put(c, `${EV}/brokers/x`, '{"apiVersion": ') },
  { name: 'api: malformed YAML', port: 'api', weight: 2, expect: '400', ok: is(400), make: (c) => put(c, `${EV}/brokers/x`, 'a: [b\n  c: {', 'application/yaml') },
  { name: 'api: text/plain body', port: 'api', weight: 2, expect: '415', ok: is(415), make: (c) => put(c, `${EV}/brokers/x`, 'hello', 'text/plain') },
  { name: 'api: 2 MiB body', port: 'api', weight: 1, expect: '413 (or a reset while the body is still being sent)', ok: (s, f) => s === 413 || (s === undefined && f === 'reset'), make: (c) => put(c, `${EV}/brokers/big`, broker('big', `,"annotations":{"a":"${'z'.repeat(2 * 1024 * 1024)}"}`)) },
  { name: 'api: JSON array body', port: 'api', weight: 2, expect: '400', ok: is(400), make: (c) => put(c, `${EV}/brokers/x`, '[1,2]') },
  { name: 'api: unknown kind path', port: 'api', weight: 2, expect: '404', ok: is(404), make: (c) => ({ port: 'api', data: rawRequest({ method: 'GET', path: `${EV}/widgets`, headers: c.auth() }) }) },
  { name: 'api: bad percent-encoding', port: 'api', weight: 2, expect: '4xx', ok: is4xx, make: (c) => ({ port: 'api', data: rawRequest({ method: 'GET', path: `${EV}/brokers/%E0%A4%A`, headers: c.auth() }) }) },
  { name: 'api: two Host headers', port: 'api', weight: 1, expect: '400', ok: (st, f) => st === 400 || (st === undefined && f === 'closed'), make: (c) => ({ port: 'api', data: rawRequest({ method: 'GET', path: `${EV}/brokers`, host: null, headers: [['Host', 'localhost'], ['Host', 'evil.example'], ...Object.entries(c.auth())] }) }) },
  { name: 'api: watch with bogus query', port: 'api', weight: 1, expect: '200 (stream) or 4xx', ok: (s) => s === 200 || is4xx(s), make: (c) => ({ port: 'api', timeoutMs: 1500, data: rawRequest({ method: 'GET', path: `${EV}/brokers?watch=true&watch=1&x=%ff`, headers: c.auth() }) }) },
  // Sent without the token (or with a wrong one) on purpose: 401 once the control API requires it.
  { name: 'api: list without token', noToken: true, port: 'api', weight: 2, expect: '401', ok: is(401), make: () => ({ port: 'api', noToken: true, data: rawRequest({ method: 'GET', path: `${EV}/brokers` }) }) },
  { name: 'api: PUT without token', noToken: true, port: 'api', weight: 2, expect: '401', ok: is(401), make: (c) => ({ ...put(c, `${EV}/brokers/fuzz-notoken`, broker('fuzz-notoken'), 'application/json', {}), noToken: true }) },
  { name: 'api: DELETE without token', noToken: true, port: 'api', weight: 1, expect: '401', ok: is(401), make: () => ({ port: 'api', noToken: true, data: rawRequest({ method: 'DELETE', path: `${EV}/brokers/fuzz-victim` }) }) },
  { name: 'api: wrong token', noToken: true, port: 'api', weight: 2, expect: '401', ok: is(401), make: () => ({ port: 'api', noToken: true, data: rawRequest({ method: 'GET', path: `${EV}/triggers`, headers: { authorization: 'Bearer not-the-token' } }) }) },
];
