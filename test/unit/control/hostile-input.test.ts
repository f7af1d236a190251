/**
 * Hostile request bodies through the control API (the cases the fuzz probe found answered with 500): each gets a
 * 400 (the body parser refuses it) or a 422 (validation refuses it) that names the limit or the field, and the
 * server keeps answering afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import { buildApiServer, type KubeStatus } from '../../../src/control/api-server.js';
import { Store } from '../../../src/control/store.js';

const TOKEN = 'hostile-test-token-0123456789';
const EV = '/apis/eventing.knative.dev/v1/namespaces/default';
const SV = '/apis/serving.knative.dev/v1/namespaces/default';
const SRC = '/apis/sources.knative.dev/v1/namespaces/default';

const deepArrays = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const broker = (name: string, extra = ''): string =>
  `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"${name}"${extra}}}`;
const trigger = (name: string, spec: string): string => `{"apiVersion":"eventing.knative.dev/v1","kind":"Trigger","metadata":{"name":"${name}"},"spec":${spec}}`;
const SUB = '"subscriber":{"uri":"http://127.0.0.1:9/x"}';
const nestedNot = (n: number): string => '{"not":'.repeat(n) + '{"exact":{"type":"x"}}' + '}'.repeat(n);

const BILLION_LAUGHS = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: laughs
  annotations:
    a0: &a0 "lol"
${Array.from({ length: 9 }, (_, i) => `    a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`).join('\n')}
`;

describe('control API: hostile bodies', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-hostile-'));
    store = await Store.open({ dir });
    app = buildApiServer({ store, registry: new Registry(), token: TOKEN });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const put = async (path: string, body: string, contentType = 'application/json'): Promise<{ code: number; status: KubeStatus }> => {
    const res = await app.inject({ method: 'PUT', url: path, payload: body, headers: { 'content-type': contentType, authorization: `Bearer ${TOKEN}` } });
    return { code: res.statusCode, status: res.json() as KubeStatus };
  };

  /** After every hostile body the server still serves, and nothing was stored. */
  const stillServing = async (): Promise<void> => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const list = await app.inject({ method: 'GET', url: `${EV}/brokers`, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(list.statusCode).toBe(200);
  };

  const depthRefused = 'nested deeper than 100 levels (limit maxDocumentDepth = 100)';

  it('JSON 100 000 levels deep in an unknown field, an annotation or an env value: 400 naming the limit and the field', async () => {
    const cases: [string, string, string][] = [
      [`${EV}/brokers/deepu`, `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"deepu"},"spec":{"zzz":${deepArrays(100_000)}}}`, 'spec.zzz[0][0][0][0][0][0][0][0][0][0]…'],
      [`${EV}/brokers/deepa`, broker('deepa', `,"annotations":{"a":${deepArrays(100_000)}}`), 'metadata.annotations.a[0][0][0][0][0][0][0][0][0]…'],
      [
        `${SV}/services/deepe`,
        `{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"deepe"},"spec":{"template":{"spec":{"containers":[{"image":"x","env":[{"name":"A","value":${deepArrays(100_000)}}]}]}}}}`,
        'spec.template.spec.containers[0].env[0].value[0][0][0][0]…',
      ],
      [`${EV}/brokers/top`, `{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"top"},"zzz":${deepArrays(100_000)}}`, 'zzz[0][0][0][0][0][0][0][0][0][0][0]…'],
    ];
    for (const [path, body, field] of cases) {
      const { code, status } = await put(path, body);
      expect(code, path).toBe(400);
      expect(status).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
      expect(status.message).toBe(`JSON body refused at ${field}: ${depthRefused}`);
    }
    await stillServing();
    expect(store.list(kindByName('broker') as KindInfo)).toEqual([]);
  });

  it('YAML nested 100 000 deep (flow or block): 400 with the line and column', async () => {
    const flow = await put(`${EV}/brokers/deep`, `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: deep}\nspec: {x: ${deepArrays(100_000)}}\n`, 'application/yaml');
    expect(flow.code).toBe(400);
    expect(flow.status.message).toMatch(new RegExp(`^YAML body refused at line 4, column \\d+: ${depthRefused.replace(/[()]/g, '\\$&')}$`));
    const block = await put(`${EV}/brokers/deep`, `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: deep}\nspec:\n  x:\n    ${'- '.repeat(100_000)}x\n`, 'application/yaml');
    expect(block.code).toBe(400);
    expect(block.status.message).toContain(depthRefused);
    await stillServing();
  });

  it('YAML billion laughs: 400 naming maxYamlAliasCount; an alias inside its own anchor: 400 naming the depth limit', async () => {
    const laughs = await put(`${EV}/brokers/laughs`, BILLION_LAUGHS, 'application/yaml');
    expect(laughs.code).toBe(400);
    expect(laughs.status.message).toBe('YAML body refused: aliases expand more than 100 times (limit maxYamlAliasCount = 100)');
    const self = await put(`${EV}/brokers/self`, 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: self\n  annotations: &a {x: *a}\n', 'application/yaml');
    expect(self.code).toBe(400);
    expect(self.status.message).toContain(depthRefused);
    const wide = await put(`${EV}/brokers/wide`, `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: wide}\nspec:\n  s: &s ${'x'.repeat(40_000)}\n  l: [${Array(90).fill('*s').join(', ')}]\n`, 'application/yaml');
    expect(wide.code).toBe(400);
    expect(wide.status.message).toContain('(limit maxDocumentSize = 3145728)');
    await stillServing();
  });

  it('CESQL with 20 000 parentheses, 50 000 chained NOT or 50 000 chained +: 422 naming the field and maxCesqlDepth', async () => {
    const expressions = [`${'('.repeat(20_000)}true${')'.repeat(20_000)}`, `${'NOT '.repeat(50_000)}true`, `1${' + 1'.repeat(50_000)} = 3`];
    for (const [i, cesql] of expressions.entries()) {
      const { code, status } = await put(`${EV}/triggers/t${i}`, trigger(`t${i}`, `{"broker":"default","filters":[{"cesql":"${cesql}"}],${SUB}}`));
      expect(code, cesql.slice(0, 20)).toBe(422);
      expect(status.reason).toBe('Invalid');
      expect(status.details.causes).toEqual([
        { field: 'spec.filters[0].cesql', message: expect.stringMatching(/^expression nested deeper than 200 levels \(limit maxCesqlDepth = 200\) at line 1, column \d+$/) },
      ]);
    }
    await stillServing();
  });

  it('filters with 3 000 nested not: 400 (the body is too deep); 40 nested not: 422 naming maxFilterDepth', async () => {
    const deep = await put(`${EV}/triggers/nots`, trigger('nots', `{"broker":"default","filters":[${nestedNot(3000)}],${SUB}}`));
    expect(deep.code).toBe(400);
    expect(deep.status.message).toContain(depthRefused);
    const nested = await put(`${EV}/triggers/nots`, trigger('nots', `{"broker":"default","filters":[${nestedNot(40)}],${SUB}}`));
    expect(nested.code).toBe(422);
    expect(nested.status.details.causes).toEqual([
      { field: `spec.filters[0]${'.not'.repeat(32)}`, message: 'filters nested deeper than 32 levels of all/any/not (limit maxFilterDepth = 32)' },
    ]);
    await stillServing();
  });

  it('a Broker named Bad_Name.X: 422 on metadata.name', async () => {
    const { code, status } = await put(`${EV}/brokers/Bad_Name.X`, broker('Bad_Name.X'));
    expect(code).toBe(422);
    expect(status.details.causes).toEqual([{ field: 'metadata.name', message: expect.stringContaining('invalid value "Bad_Name.X": a lowercase RFC 1123 subdomain') }]);
    expect(status.message).toMatch(/^Broker "Bad_Name\.X" is invalid: metadata\.name: /);
  });

  it('file:///etc/passwd as a subscriber, a source sink or a dead-letter sink: 422 naming the field', async () => {
    const cases: [string, string, string][] = [
      [`${EV}/triggers/file`, trigger('file', '{"broker":"default","subscriber":{"uri":"file:///etc/passwd"}}'), 'spec.subscriber.uri'],
      [
        `${SRC}/pingsources/pfile`,
        '{"apiVersion":"sources.knative.dev/v1","kind":"PingSource","metadata":{"name":"pfile"},"spec":{"schedule":"* * * * *","sink":{"uri":"file:///etc/passwd"}}}',
        'spec.sink.uri',
      ],
      [
        `${EV}/brokers/dls`,
        '{"apiVersion":"eventing.knative.dev/v1","kind":"Broker","metadata":{"name":"dls"},"spec":{"delivery":{"deadLetterSink":{"uri":"file:///etc/passwd"}}}}',
        'spec.delivery.deadLetterSink.uri',
      ],
      [`${EV}/triggers/tdls`, trigger('tdls', `{"broker":"default",${SUB},"delivery":{"deadLetterSink":{"uri":"file:///etc/passwd"}}}`), 'spec.delivery.deadLetterSink.uri'],
    ];
    for (const [path, body, field] of cases) {
      const { code, status } = await put(path, body);
      expect(code, path).toBe(422);
      expect(status.details.causes).toEqual([{ field, message: 'unsupported URI scheme "file:" in "file:///etc/passwd": want http or https (events are delivered with HTTP POST)' }]);
    }
  });

  it('still accepts ordinary JSON and YAML bodies', async () => {
    expect((await put(`${EV}/brokers/ok`, broker('ok'))).code).toBe(201);
    expect((await put(`${EV}/brokers/ok2`, 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: ok2\n', 'application/yaml')).code).toBe(201);
    const two = await put(`${EV}/brokers/ok3`, 'a: 1\n---\nb: 2\n', 'application/yaml');
    expect(two.code).toBe(400);
    expect(two.status.message).toBe('malformed YAML body: the body holds 2 YAML documents; send one object per request');
  });
});
