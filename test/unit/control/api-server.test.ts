import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { KObject } from '../../../src/api/types.js';
import { buildApiServer, type LogSource } from '../../../src/control/api-server.js';
import { Store } from '../../../src/control/store.js';
import type { LogLine } from '../../../src/runtime/types.js';
import { waitFor } from '../../support/wait.js';

const SVC_PATH = '/apis/serving.knative.dev/v1/namespaces/default/services';
const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const REVISION = kindByName('revision') as KindInfo;

function service(name = 'hello', patch: (s: Record<string, any>) => void = () => {}): Record<string, any> {
  const s: Record<string, any> = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } },
  };
  patch(s);
  return s;
}

describe('control API', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let registry: Registry;
  let isReady: boolean;
  const logLines: LogLine[] = [];
  const followers = new Set<(l: LogLine) => void>();
  const logs: LogSource = {
    logs: () => [...logLines],
    followLogs: (_ns, _svc, fn) => {
      followers.add(fn);
      return () => followers.delete(fn);
    },
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-api-'));
    store = await Store.open({ dir });
    registry = new Registry();
    isReady = true;
    logLines.length = 0;
    followers.clear();
    app = buildApiServer({ store, registry, logs, ready: () => isReady, token: TOKEN });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** app.inject with the bearer token. */
  const inject = (opts: InjectOptions) => app.inject({ ...opts, headers: { ...AUTH, ...opts.headers } });

  const put = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    inject({ method: 'PUT', url: `${SVC_PATH}/${name}`, payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

  it('creates, then reports unchanged, then configured; generation moves only with the spec', async () => {
    const a = await put('hello', service());
    expect(a.statusCode).toBe(201);
    expect(a.headers['x-wisp-apply']).toBe('created');
    const created = a.json() as KObject;
    expect(created.metadata).toMatchObject({ name: 'hello', namespace: 'default', generation: 1 });
    expect((created.spec as any).template.spec.containerConcurrency).toBe(0);

    const b = await put('hello', service());
    expect(b.statusCode).toBe(200);
    expect(b.headers['x-wisp-apply']).toBe('unchanged');
    expect((b.json() as KObject).metadata.generation).toBe(1);

    const c = await put('hello', service('hello', (s) => (s.spec.template.spec.containerConcurrency = 5)));
    expect(c.statusCode).toBe(200);
    expect(c.headers['x-wisp-apply']).toBe('configured');
    expect((c.json() as KObject).metadata.generation).toBe(2);

    store.updateStatus(kindByName('ksvc') as KindInfo, 'default', 'hello', { observedGeneration: 2 });
    const got = await inject({ method: 'GET', url: `${SVC_PATH}/hello` });
    expect(got.json()).toMatchObject({ metadata: { generation: 2 }, status: { observedGeneration: 2 } });
  });

  it('accepts YAML bodies', async () => {
    const yaml = 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: hello\nspec:\n  template:\n    spec:\n      containers:\n        - image: x\n';
    const r = await inject({ method: 'PUT', url: `${SVC_PATH}/hello`, payload: yaml, headers: { 'content-type': 'application/yaml' } });
    expect(r.statusCode).toBe(201);
  });

  it('rejects a missing container with a 422 Status naming the field', async () => {
    const r = await put('hello', service('hello', (s) => (s.spec.template.spec.containers = [])));
    expect(r.statusCode).toBe(422);
    expect(r.json()).toEqual({
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      message: 'Service "hello" is invalid: spec.template.spec.containers: missing field(s)',
      reason: 'Invalid',
      details: { name: 'hello', kind: 'Service', causes: [{ field: 'spec.template.spec.containers', message: 'missing field(s)' }] },
      code: 422,
    });
    expect(store.get(kindByName('ksvc') as KindInfo, 'default', 'hello')).toBeUndefined();
  });

  it('lists every field error in the message', async () => {
    const r = await put(
      'hello',
      service('hello', (s) => {
        s.spec.template.spec.containerConcurrency = -1;
        s.spec.traffic = [{ latestRevision: true, percent: 90 }];
      }),
    );
    expect(r.statusCode).toBe(422);
    expect(r.json().message).toBe(
      'Service "hello" is invalid: spec.template.spec.containerConcurrency: expected 0 <= -1 <= 1000; spec.traffic: traffic targets sum to 90, want 100',
    );
    expect(r.json().details.causes).toHaveLength(2);
  });

  it('sends unknown fields back as Warning headers and keeps them', async () => {
    const r = await put('hello', service('hello', (s) => {
      s.spec.template.spec.foo = 'bar';
      s.spec.template.spec.containers[0].nope = 1;
    }));
    expect(r.statusCode).toBe(201);
    expect(r.headers['warning']).toEqual(['299 - "unknown field \\"spec.template.spec.containers[0].nope\\""', '299 - "unknown field \\"spec.template.spec.foo\\""']);
    expect((r.json() as any).spec.template.spec.foo).toBe('bar');
  });

  it('rejects traffic to a revision that does not exist, naming the ones that do', async () => {
    for (const n of ['hello-00001', 'hello-00002']) {
      store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: n, namespace: 'default', labels: { 'serving.knative.dev/service': 'hello' } }, spec: { containers: [] } });
    }
    store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'other-00001', namespace: 'default', labels: { 'serving.knative.dev/service': 'other' } }, spec: { containers: [] } });
    const bad = await put('hello', service('hello', (s) => (s.spec.traffic = [{ revisionName: 'hello-00009', percent: 100 }])));
    expect(bad.statusCode).toBe(422);
    expect(bad.json().details.causes).toEqual([
      { field: 'spec.traffic[0].revisionName', message: 'revision "hello-00009" not found; revisions of service "hello": hello-00001, hello-00002' },
    ]);
    const ok = await put('hello', service('hello', (s) => (s.spec.traffic = [{ revisionName: 'hello-00002', percent: 50 }, { latestRevision: true, percent: 50 }])));
    expect(ok.statusCode).toBe(201);
    const own = await put('hello', service('hello', (s) => {
      s.spec.template.metadata = { name: 'hello-blue' };
      s.spec.traffic = [{ revisionName: 'hello-blue', percent: 100 }];
    }));
    expect(own.statusCode).toBe(200);
  });

  it('keeps a Broker class immutable', async () => {
    const broker = (cls: string) => ({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', annotations: { 'eventing.knative.dev/broker.class': cls } } });
    const url = '/apis/eventing.knative.dev/v1/namespaces/default/brokers/default';
    const headers = { 'content-type': 'application/json' };
    expect((await inject({ method: 'PUT', url, payload: broker('Memory'), headers })).statusCode).toBe(201);
    const r = await inject({ method: 'PUT', url, payload: broker('Kafka'), headers });
    expect(r.statusCode).toBe(422);
    expect(r.json().message).toContain('metadata.annotations.eventing.knative.dev/broker.class: field is immutable: was "Memory", now "Kafka"');
  });

  it('refuses to apply platform-owned kinds', async () => {
    const body = { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001' }, spec: { containers: [] } };
    const r = await inject({ method: 'PUT', url: '/apis/serving.knative.dev/v1/namespaces/default/revisions/hello-00001', payload: body });
    expect(r.statusCode).toBe(405);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 });
    expect(r.json().message).toContain('revisions.serving.knative.dev are created by the platform');
  });

  it('maps bad requests to Status codes: 400 malformed, 400 name mismatch, 415 media type, 404 unknown', async () => {
    const malformed = await put('hello', '{"apiVersion": ');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    expect(malformed.json().message).toMatch(/^malformed JSON body/);

    const mismatch = await put('other', service('hello'));
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().message).toBe('the name of the object (hello) does not match the name on the URL (other)');

    const text = await inject({ method: 'PUT', url: `${SVC_PATH}/hello`, payload: 'hi', headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });

    const badYaml = await inject({ method: 'PUT', url: `${SVC_PATH}/hello`, payload: 'a: [\n', headers: { 'content-type': 'application/yaml' } });
    expect(badYaml.statusCode).toBe(400);
    expect(badYaml.json().message).toMatch(/^malformed YAML body at line \d+, column \d+: /);

    const missing = await inject({ method: 'GET', url: `${SVC_PATH}/nope` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ reason: 'NotFound', message: 'services.serving.knative.dev "nope" not found', details: { name: 'nope', kind: 'Service' } });

    const unknownKind = await inject({ method: 'GET', url: '/apis/apps/v1/namespaces/default/deployments' });
    expect(unknownKind.statusCode).toBe(404);
    expect(unknownKind.json()).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    expect((await inject({ method: 'GET', url: '/nowhere' })).json()).toMatchObject({ kind: 'Status', code: 404 });
  });

  it('creates with POST (409 when it exists), lists, and deletes', async () => {
    const post = (body: unknown) => inject({ method: 'POST', url: SVC_PATH, payload: body as object });
    expect((await post(service('a'))).statusCode).toBe(201);
    const again = await post(service('a'));
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ reason: 'AlreadyExists', code: 409 });
    await post(service('b'));
    await inject({
      method: 'PUT',
      url: '/apis/serving.knative.dev/v1/namespaces/prod/services/c',
      payload: { ...service('c'), metadata: { name: 'c', namespace: 'prod' } },
    });
    const list = await inject({ method: 'GET', url: SVC_PATH });
    expect(list.json()).toMatchObject({ apiVersion: 'serving.knative.dev/v1', kind: 'ServiceList', metadata: { resourceVersion: store.resourceVersion } });
    expect(list.json().items.map((i: KObject) => i.metadata.name)).toEqual(['a', 'b']);
    const all = await inject({ method: 'GET', url: '/apis/serving.knative.dev/v1/services' });
    expect(all.json().items.map((i: KObject) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['default/a', 'default/b', 'prod/c']);

    const del = await inject({ method: 'DELETE', url: `${SVC_PATH}/a` });
    expect(del.statusCode).toBe(200);
    expect(del.json().metadata.name).toBe('a');
    expect((await inject({ method: 'DELETE', url: `${SVC_PATH}/a` })).statusCode).toBe(404);
  });

  it('serves ConfigMaps under /api/v1 and checks config-autoscaler', async () => {
    const url = '/api/v1/namespaces/knative-serving/configmaps/config-autoscaler';
    const body = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler', namespace: 'knative-serving' }, data });
    const bad = await inject({ method: 'PUT', url, payload: body({ 'stable-window': 'forever' }) });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().details.causes[0].field).toBe('data.stable-window');
    expect((await inject({ method: 'PUT', url, payload: body({ 'stable-window': '90s' }) })).statusCode).toBe(201);
    expect((await inject({ method: 'GET', url: '/api/v1/namespaces/knative-serving/configmaps' })).json().items).toHaveLength(1);
  });

  it('checks scaling annotations against the stored config-autoscaler', async () => {
    const zeroInitial = service('hello', (s) => (s.spec.template.metadata = { annotations: { 'autoscaling.knative.dev/initial-scale': '0' } }));
    const refused = await put('hello', zeroInitial);
    expect(refused.statusCode).toBe(422);
    expect(refused.json().details.causes[0].field).toMatch(/^spec\.template\.metadata\.annotations.*initial-scale/);
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config-autoscaler', namespace: 'knative-serving' },
      data: { 'allow-zero-initial-scale': 'true', 'no-such-key': 'x' },
    };
    const applied = await inject({ method: 'PUT', url: '/api/v1/namespaces/knative-serving/configmaps/config-autoscaler', payload: cm });
    expect(applied.statusCode).toBe(201);
    expect(applied.headers['warning']).toEqual(['299 - "unknown field \\"data.no-such-key\\" (config-autoscaler does not read it)"']);
    expect((await put('hello', zeroInitial)).statusCode).toBe(201);
  });

  it('serves healthz, readyz and metrics', async () => {
    expect((await inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    isReady = false;
    expect((await inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    new Counter({ name: 'wisp_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    const m = await inject({ method: 'GET', url: '/metrics' });
    expect(m.statusCode).toBe(200);
    expect(m.headers['content-type']).toContain('text/plain');
    expect(m.body).toContain('wisp_test_total 3');
  });

  it('returns service logs as NDJSON, 404 for an unknown service', async () => {
    await put('hello', service());
    logLines.push({ time: 1, revision: 'hello-00001', replica: 'r1', stream: 'stdout', line: 'listening' });
    const r = await inject({ method: 'GET', url: `${SVC_PATH}/hello/log` });
    expect(r.statusCode).toBe(200);
    expect(r.body.trim().split('\n').map((l) => JSON.parse(l) as LogLine)).toEqual(logLines);
    expect((await inject({ method: 'GET', url: `${SVC_PATH}/nope/log` })).statusCode).toBe(404);
  });

  it('streams watch events (ADDED for existing, then live) until the client leaves', async () => {
    await put('existing', service('existing'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}${SVC_PATH}?watch=true`, { signal: ac.signal, headers: AUTH });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const events: { type: string; object: KObject }[] = [];
    let buf = '';
    const pump = (async () => {
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as { type: string; object: KObject });
          buf = buf.slice(nl + 1);
        }
      }
    })();
    await waitFor(() => events.length === 1);
    await put('hello', service());
    await put('hello', service('hello', (s) => (s.spec.template.spec.timeoutSeconds = 10)));
    await inject({ method: 'PUT', url: '/apis/serving.knative.dev/v1/namespaces/other/services/x', payload: { ...service('x'), metadata: { name: 'x', namespace: 'other' } } });
    store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001', namespace: 'default' }, spec: { containers: [] } });
    await inject({ method: 'DELETE', url: `${SVC_PATH}/hello` });
    await waitFor(() => events.length >= 4, { what: 'four watch events' });
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED existing', 'ADDED hello', 'MODIFIED hello', 'DELETED hello']);
    expect(store.list(REVISION)).toHaveLength(1);
    expect(store.watcherCount).toBe(1);
    ac.abort();
    await pump;
    await waitFor(() => store.watcherCount === 0, { what: 'watch listener removed after disconnect' });
  });

  it('ends open watch and log-follow streams when the server closes', async () => {
    await put('hello', service());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const watch = await fetch(`http://127.0.0.1:${port}/apis/serving.knative.dev/v1/services?watch=1`, { headers: AUTH });
    const follow = await fetch(`http://127.0.0.1:${port}${SVC_PATH}/hello/log?follow=true`, { headers: AUTH });
    await waitFor(() => followers.size === 1);
    const line: LogLine = { time: 2, revision: 'hello-00001', replica: 'r1', stream: 'stderr', line: 'boom' };
    for (const f of followers) f(line);
    await app.close();
    const watched = (await watch.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(watched.map((e) => e.type)).toEqual(['ADDED']);
    expect(JSON.parse((await follow.text()).trim())).toEqual(line);
    expect(store.watcherCount).toBe(0);
    expect(followers.size).toBe(0);
  });
});

describe('control API: who may call it', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;

  const build = (allowedHosts?: 'loopback' | 'any'): FastifyInstance =>
    (app = buildApiServer({ store, registry: new Registry(), token: TOKEN, ...(allowedHosts && { allowedHosts }) }));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-api-auth-'));
    store = await Store.open({ dir });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 401 Unauthorized without a token, saying why, and lets the health probes through', async () => {
    build();
    const missing = await app.inject({ method: 'GET', url: SVC_PATH });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="wisp"');
    expect(missing.json()).toMatchObject({ apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    expect(missing.json().message).toMatch(/^Unauthorized: no Authorization header; send 'Authorization: Bearer <token>'/);

    const wrong = await app.inject({ method: 'GET', url: SVC_PATH, headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().message).toBe('Unauthorized: the bearer token is not the token of this Wisp (see <state-dir>/token)');

    const basic = await app.inject({ method: 'GET', url: SVC_PATH, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.json().message).toMatch(/is not a bearer token/);

    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz?verbose' })).statusCode).toBe(200);
    for (const url of ['/metrics', '/nowhere', '/healthz/', `${SVC_PATH}/hello/log`, '/apis/serving.knative.dev/v1/services?watch=true']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
    const put = await app.inject({ method: 'PUT', url: `${SVC_PATH}/hello`, payload: service() });
    expect(put.statusCode).toBe(401);
    expect(store.list(kindByName('ksvc') as KindInfo)).toHaveLength(0);

    const ok = await app.inject({ method: 'GET', url: SVC_PATH, headers: { authorization: `bearer  ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
  });

  it('on loopback, refuses a Host that is not a loopback name or address (DNS rebinding) with 403 Forbidden', async () => {
    build();
    for (const host of ['evil.example', 'evil.example:8090', 'localhost.evil.example', '192.168.1.10:8090', 'localhost@evil.example', '[::2]:8090']) {
      const r = await app.inject({ method: 'GET', url: '/healthz', headers: { ...AUTH, host } });
      expect(r.statusCode, host).toBe(403);
      expect(r.json(), host).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      expect(r.json().message).toMatch(/only answers requests addressed to a loopback name \(localhost, \*\.localhost, 127\.0\.0\.0\/8, \[::1\]\)/);
    }
    for (const host of ['localhost', 'localhost:8090', 'LOCALHOST.', 'api.wisp.localhost:8090', '127.0.0.1:8090', '127.3.2.1', '[::1]:8090', '[0:0:0:0:0:0:0:1]']) {
      const r = await app.inject({ method: 'GET', url: SVC_PATH, headers: { ...AUTH, host } });
      expect(r.statusCode, host).toBe(200);
    }
  });

  it('bound to other interfaces (allowedHosts any), answers any Host but still wants the token', async () => {
    build('any');
    expect((await app.inject({ method: 'GET', url: SVC_PATH, headers: { ...AUTH, host: 'wisp.example.com' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: SVC_PATH, headers: { host: 'wisp.example.com' } })).statusCode).toBe(401);
  });

  it('sends at most 20 unknown-field warnings, then one that counts the rest', async () => {
    build();
    const body = service('wide', (s) => {
      for (let i = 0; i < 2000; i++) s.spec[`extra${i}`] = i;
    });
    const r = await app.inject({ method: 'PUT', url: `${SVC_PATH}/wide`, payload: body, headers: AUTH });
    expect(r.statusCode).toBe(201);
    const warnings = r.headers['warning'] as unknown as string[];
    expect(warnings).toHaveLength(21);
    expect(warnings[0]).toMatch(/^299 - ".*spec\.extra0/);
    expect(warnings[20]).toBe('299 - "... and 1980 more unknown fields"');
  });

  it('ignores status and server-set metadata in the input: a stored object put back is unchanged', async () => {
    build();
    const created = (await app.inject({ method: 'PUT', url: `${SVC_PATH}/hello`, payload: service(), headers: AUTH })).json() as KObject;
    store.updateStatus(kindByName('ksvc') as KindInfo, 'default', 'hello', { observedGeneration: 1 });
    const got = (await app.inject({ method: 'GET', url: `${SVC_PATH}/hello`, headers: AUTH })).json() as KObject;
    const back = await app.inject({ method: 'PUT', url: `${SVC_PATH}/hello`, payload: { ...got, metadata: { ...got.metadata, managedFields: [{ manager: 'kubectl' }], selfLink: '/x' } }, headers: AUTH });
    expect(back.headers['x-wisp-apply']).toBe('unchanged');
    expect(back.headers['warning']).toBeUndefined();
    expect((back.json() as KObject).metadata).toEqual(got.metadata);
    expect(got.metadata.uid).toBe(created.metadata.uid);

    // Created elsewhere: uid, generation and the rest are this server's, the status is not taken.
    const foreign = { ...got, metadata: { ...got.metadata, name: 'copy', uid: 'from-elsewhere', generation: 7, resourceVersion: '999', managedFields: [] }, status: { observedGeneration: 7 } };
    const copy = (await app.inject({ method: 'PUT', url: `${SVC_PATH}/copy`, payload: foreign, headers: AUTH })).json() as KObject;
    expect(copy.metadata.uid).not.toBe('from-elsewhere');
    expect(copy.metadata.generation).toBe(1);
    expect(copy.metadata).not.toHaveProperty('managedFields');
    expect(copy.status).toBeUndefined();
  });
});
