import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { KObject } from '../../../src/api/types.js';
import { freePort } from '../../support/wait.js';
import { key, startStandIn, type StandIn } from './control-api-standin.js';
import { run } from './run.js';

const HELLO = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - command: [node, server.js]
`;
const BROKER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
`;

let api: StandIn;
let dir: string;
const server = (): string[] => ['--server', api.url];

beforeEach(async () => {
  api = await startStandIn();
  dir = await mkdtemp(join(tmpdir(), 'wisp-cli-'));
});

afterEach(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

function seed(obj: KObject): void {
  const [group] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [''];
  const plural = `${obj.kind.toLowerCase()}s`;
  api.objects.set(key(group ?? '', plural, obj.metadata.namespace, obj.metadata.name), obj);
}

const ready = (status: 'True' | 'False' | 'Unknown', reason?: string, message?: string) => [
  { type: 'Ready', status, ...(reason ? { reason } : {}), ...(message ? { message } : {}) },
];

describe('wisp apply', () => {
  it('prints created, then unchanged, then configured, and sends the source-dir annotation', async () => {
    const path = await file('hello.yaml', `${HELLO}---\n${BROKER}`);
    const first = await run(['apply', '-f', path, ...server()]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe('service.serving.knative.dev/hello created\nbroker.eventing.knative.dev/default created\n');
    expect(api.requests).toContain('PUT /apis/serving.knative.dev/v1/namespaces/default/services/hello');
    const stored = api.objects.get(key('serving.knative.dev', 'services', 'default', 'hello'));
    expect(stored?.metadata.annotations?.['wisp.dev/source-dir']).toBe(dir);

    const again = await run(['apply', '-f', path, ...server()]);
    expect(again.stdout).toBe('service.serving.knative.dev/hello unchanged\nbroker.eventing.knative.dev/default unchanged\n');

    await file('hello.yaml', HELLO.replace('server.js', 'v2.js'));
    const changed = await run(['apply', '-f', path, ...server()]);
    expect(changed).toMatchObject({ code: 0, stdout: 'service.serving.knative.dev/hello configured\n' });
  });

  it('reads stdin with -f - and takes the server from WISP_SERVER', async () => {
    const res = await run(['apply', '-f', '-'], { stdin: HELLO, env: { WISP_SERVER: api.url } });
    expect(res).toMatchObject({ code: 0, stdout: 'service.serving.knative.dev/hello created\n' });
  });

  it('prints server warnings on stderr like kubectl', async () => {
    const path = await file('warn.yaml', HELLO.replace('spec:\n  template', 'spec:\n  replicas: 3\n  template'));
    const res = await run(['apply', '-f', path, ...server()]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('Warning: unknown field "spec.replicas"\n');
    expect(res.stdout).toBe('service.serving.knative.dev/hello created\n');
  });

  it('prints Invalid errors with the field, applies the rest, and exits 1', async () => {
    const bad = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: broken
spec:
  template:
    spec:
      containers: []
`;
    const path = await file('mixed.yaml', `${bad}---\n${BROKER}`);
    const res = await run(['apply', '-f', path, ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('Error from server (Invalid): Service "broken" is invalid: spec.template.spec.containers: Required value\n');
    expect(res.stdout).toBe('broker.eventing.knative.dev/default created\n');
  });

  it('prints one line per cause when there are several', async () => {
    const bad = HELLO.replace('containers:\n        - command: [node, server.js]', 'timeoutSeconds: 9999\n      containers: []');
    const res = await run(['apply', '-f', await file('bad.yaml', bad), ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr.trimEnd().split('\n')).toEqual([
      'Error from server (Invalid): spec.template.spec.containers: Required value',
      'Error from server (Invalid): spec.template.spec.timeoutSeconds: expected 0 <= 9999 <= 600',
    ]);
  });

  it('reports a YAML error with file, line and column and exits 1', async () => {
    const path = await file('broken.yaml', 'apiVersion: v1\nkind: [\n');
    const res = await run(['apply', '-f', path, ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/broken\.yaml:\d+:\d+: /);
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('--wait shows progress until the Service is Ready', async () => {
    let gets = 0;
    api.onGet = (_k, obj) => {
      gets += 1;
      const gen = obj.metadata.generation ?? 1;
      if (gets === 1) return { ...obj, status: { observedGeneration: gen, conditions: ready('Unknown', 'RevisionMissing', 'Revision "hello-00001" is not ready yet.') } };
      if (gets === 2) return { ...obj, status: { observedGeneration: gen, conditions: ready('Unknown', 'RevisionMissing', 'Revision "hello-00001" is not ready yet.') } };
      return { ...obj, status: { observedGeneration: gen, url: 'http://hello.default.localhost:8080', conditions: ready('True') } };
    };
    const res = await run(['apply', '-f', await file('hello.yaml', HELLO), '--wait', ...server()]);
    expect(res.stdout).toBe(
      'service.serving.knative.dev/hello created\n' +
        'service hello: waiting (RevisionMissing: Revision "hello-00001" is not ready yet.)\n' +
        'service hello ready at http://hello.default.localhost:8080\n',
    );
    expect(res.code).toBe(0);
  });

  it('--wait exits 1 with the reason when Ready turns False', async () => {
    api.onGet = (_k, obj) => ({
      ...obj,
      status: { observedGeneration: obj.metadata.generation, conditions: ready('False', 'ImageNotRunnableLocally', 'add a command to run it locally') },
    });
    const res = await run(['apply', '-f', await file('hello.yaml', HELLO), '--wait', ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('service hello failed: ImageNotRunnableLocally: add a command to run it locally\n');
  });

  it('--wait exits 1 when time runs out', async () => {
    const res = await run(['apply', '-f', await file('hello.yaml', HELLO), '--wait', '--timeout', '300ms', ...server()]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('service hello: waiting (generation 1 not observed yet)');
    expect(res.stderr).toMatch(/^service hello: not ready after 300ms \(generation 1 not observed yet\)\n$/);
  });
});

describe('wisp get', () => {
  const svc = (name: string, ns = 'default'): KObject => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: ns, creationTimestamp: new Date(Date.now() - 3_000).toISOString() },
    spec: { template: { spec: { containers: [{ command: ['node'] }] } } },
    status: {
      url: `http://${name}.${ns}.localhost:8080`,
      latestCreatedRevisionName: `${name}-00001`,
      latestReadyRevisionName: `${name}-00001`,
      conditions: ready('True'),
      traffic: [{ revisionName: `${name}-00001`, latestRevision: true, percent: 100 }],
    },
  });

  it('prints a table of services with aligned columns', async () => {
    seed(svc('hello'));
    seed(svc('zeta'));
    seed(svc('other', 'prod'));
    const res = await run(['get', 'ksvc', ...server()]);
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +URL +LATESTCREATED +LATESTREADY +READY +REASON +AGE$/);
    expect(lines[1]).toMatch(/^hello +http:\/\/hello\.default\.localhost:8080 +hello-00001 +hello-00001 +True +\ds$/);
    expect(lines[2]).toMatch(/^zeta +/);
    expect(lines).toHaveLength(3);
    expect(lines[0]!.indexOf('URL')).toBe(lines[1]!.indexOf('http'));
  });

  it('-A adds a NAMESPACE column and lists every namespace', async () => {
    seed(svc('hello'));
    seed(svc('other', 'prod'));
    const res = await run(['get', 'services', '-A', ...server()]);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE +NAME +URL/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 2))).toEqual([
      ['default', 'hello'],
      ['prod', 'other'],
    ]);
  });

  it('prints revisions with traffic from their Service', async () => {
    seed(svc('hello'));
    seed({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: { name: 'hello-00001', namespace: 'default', labels: { 'serving.knative.dev/service': 'hello', 'serving.knative.dev/configurationGeneration': '1' } },
      status: { actualReplicas: 1, desiredReplicas: 1, conditions: ready('True') },
    });
    const res = await run(['get', 'rev', ...server()]);
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')[1]).toMatch(/^hello-00001 +hello +100% +1 +True +1 +1 +<unknown>$/);
  });

  it('-o json prints a List of Knative-shaped objects', async () => {
    seed(svc('hello'));
    const res = await run(['get', 'ksvc', '-o', 'json', ...server()]);
    expect(res.code).toBe(0);
    const list = JSON.parse(res.stdout) as { apiVersion: string; kind: string; items: KObject[] };
    expect(list.apiVersion).toBe('v1');
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => [i.apiVersion, i.kind, i.metadata.name])).toEqual([['serving.knative.dev/v1', 'Service', 'hello']]);
  });

  it('-o yaml prints one object', async () => {
    seed(svc('hello'));
    const res = await run(['get', 'ksvc', 'hello', '-o', 'yaml', ...server()]);
    expect(res.code).toBe(0);
    const obj = parseYaml(res.stdout) as KObject;
    expect(obj).toMatchObject({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello' }, status: { url: 'http://hello.default.localhost:8080' } });
  });

  it('says so on stderr when there is nothing, and exits 0', async () => {
    const res = await run(['get', 'brokers', ...server()]);
    expect(res).toEqual({ code: 0, stdout: '', stderr: 'No resources found in default namespace.\n' });
  });

  it('exits 1 with kubectl NotFound for a missing object', async () => {
    const res = await run(['get', 'ksvc', 'nope', ...server()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('Error from server (NotFound): services.serving.knative.dev "nope" not found\n');
  });

  it('rejects an unknown kind as misuse', async () => {
    const res = await run(['get', 'widgets', ...server()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^wisp: unknown resource type "widgets"/);
  });
});

describe('wisp describe, delete, logs', () => {
  it('describes a Service with its revisions and conditions', async () => {
    seed({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: 'default' },
      status: { url: 'http://hello.default.localhost:8080', conditions: ready('True'), traffic: [{ revisionName: 'hello-00001', percent: 100 }] },
    });
    seed({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: { name: 'hello-00001', namespace: 'default', labels: { 'serving.knative.dev/service': 'hello' } },
      status: { actualReplicas: 0, desiredReplicas: 0 },
    });
    const res = await run(['describe', 'ksvc', 'hello', ...server()]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Name: +hello\nNamespace: +default\n/);
    expect(res.stdout).toContain('URL:             http://hello.default.localhost:8080');
    expect(res.stdout).toMatch(/hello-00001 +100% +Unknown +0\/0/);
    expect(res.stdout).toMatch(/Conditions:\n  TYPE +STATUS +REASON +MESSAGE\n  Ready +True\n/);
  });

  it('deletes by kind and name, and by file; a missing one exits 1', async () => {
    const path = await file('hello.yaml', HELLO);
    await run(['apply', '-f', path, ...server()]);
    const byName = await run(['delete', 'ksvc', 'hello', ...server()]);
    expect(byName).toEqual({ code: 0, stdout: 'service.serving.knative.dev "hello" deleted\n', stderr: '' });
    const missing = await run(['delete', '-f', path, ...server()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error from server (NotFound): services.serving.knative.dev "hello" not found\n');
  });

  it('prints log lines with revision and replica', async () => {
    api.logs.set('default/hello', [
      { time: 1, revision: 'hello-00001', replica: 'r1', stream: 'stdout', line: 'listening on 40001' },
      { time: 2, revision: 'hello-00001', replica: 'r1', stream: 'stderr', line: 'warn: slow' },
    ]);
    const res = await run(['logs', 'hello', ...server()]);
    expect(res).toEqual({ code: 0, stdout: '[hello-00001/r1] listening on 40001\n[hello-00001/r1] warn: slow\n', stderr: '' });
  });

  it('logs -f follows until interrupted', async () => {
    api.logs.set('default/hello', [{ time: 1, revision: 'hello-00001', replica: 'r1', stream: 'stdout', line: 'first' }]);
    const stop = new AbortController();
    const done = run(['logs', 'hello', '-f', ...server()], {
      signal: stop.signal,
      onStdout: (text) => {
        if (text === '[hello-00001/r1] first\n') {
          for (const f of api.followers) f.write(JSON.stringify({ time: 2, revision: 'hello-00001', replica: 'r2', stream: 'stdout', line: 'second' }) + '\n');
        }
        if (text.includes('second')) stop.abort();
      },
    });
    const res = await done;
    expect(res).toEqual({ code: 0, stdout: '[hello-00001/r1] first\n[hello-00001/r2] second\n', stderr: '' });
    expect(api.requests).toContain('GET /apis/serving.knative.dev/v1/namespaces/default/services/hello/log?follow=true');
  });
});

describe('misuse and failures', () => {
  it('unknown flag → exit 2 with one line', async () => {
    const res = await run(['get', 'ksvc', '--bogus']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("wisp get: unknown option '--bogus'\n");
  });

  it('unknown command → exit 2', async () => {
    const res = await run(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^wisp: unknown command 'frobnicate'/);
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('apply without -f → exit 2', async () => {
    const res = await run(['apply']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^wisp apply: required option '-f, --file <path>' not specified\n$/);
  });

  it('bad -o value and bad --timeout → exit 2', async () => {
    expect((await run(['get', 'ksvc', '-o', 'xml'])).code).toBe(2);
    const t = await run(['apply', '-f', await file('hello.yaml', HELLO), '--wait', '--timeout', 'soon', ...server()]);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/--timeout/);
  });

  it('no command prints usage on stderr and exits 2; a bad --server URL is misuse', async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Usage: wisp/);
    const bad = await run(['get', 'ksvc', '--server', 'not a url']);
    expect(bad).toMatchObject({ code: 2, stderr: "wisp: invalid value 'not a url' for --server: expected a URL like http://127.0.0.1:8090\n" });
  });

  it('--help prints usage on stdout and exits 0', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: wisp/);
    expect(top.stdout).toMatch(/apply/);
    const get = await run(['get', '--help']);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/--all-namespaces/);
    const up = await run(['up', '--help']);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/--ingress-port <n>/);
  });

  it('an unreachable control API → one clear line and exit 1', async () => {
    const port = await freePort();
    const res = await run(['get', 'ksvc', '--server', `http://127.0.0.1:${port}`]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`wisp: cannot reach the Wisp control API at http://127.0.0.1:${port} (is \`wisp up\` running?)\n`);
  });

  it('a server address fetch refuses (a blocked port) → says why, exit 1', async () => {
    const res = await run(['get', 'ksvc', '--server', 'http://127.0.0.1:1']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('wisp: cannot reach the Wisp control API at http://127.0.0.1:1 (bad port)\n');
  });

  it('wisp up --ingress-port abc → exit 2 naming the flag, without starting anything', async () => {
    let started = false;
    const res = await run(['up', '--ingress-port', 'abc'], {
      deps: {
        up: {
          startPlatform: () => {
            started = true;
            throw new Error('must not start');
          },
        },
      },
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("wisp: invalid value 'abc' for --ingress-port: a port must be an integer from 0 to 65535\n");
    expect(started).toBe(false);
  });
});
