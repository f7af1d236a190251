import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { waitReady, yamlFile } from './helpers.js';

const run = promisify(execFile);
const FIXTURES = join(ROOT, 'test/fixtures/functions');
const SINK_REF = `  sink:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: sink}`;

/** A sink Service and three ContainerSources posting to $K_SINK: Node's fetch, curl and Python's urllib. */
const YAML = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: sink, namespace: default}
spec:
  template:
    spec:
      containers:
        - command: ["${process.execPath}", "sink-recorder.js"]
          workingDir: ${FIXTURES}
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: with-fetch, namespace: default}
spec:
  template:
    spec:
      containers:
        - command: ["${process.execPath}", "post-to-sink.js"]
          workingDir: ${FIXTURES}
${SINK_REF}
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: with-curl, namespace: default}
spec:
  template:
    spec:
      containers:
        - command: ["sh", "-c"]
          args:
            - |
              i=0
              while true; do
                i=$((i+1))
                curl -sS -o /dev/null -w "curl-$i %{http_code}\\n" -X POST -H 'ce-specversion: 1.0' -H "ce-id: curl-$i" \\
                  -H 'ce-type: dev.wisp.test.sink' -H 'ce-source: curl' -H 'content-type: application/json' -d '{}' "$K_SINK"
                sleep 0.3
              done
${SINK_REF}
---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: with-python, namespace: default}
spec:
  template:
    spec:
      containers:
        - command: ["python3", "-c"]
          args:
            - |
              import os, time, urllib.request
              i = 0
              while True:
                  i += 1
                  headers = {'ce-specversion': '1.0', 'ce-id': f'python-{i}', 'ce-type': 'dev.wisp.test.sink', 'ce-source': 'python', 'content-type': 'application/json'}
                  req = urllib.request.Request(os.environ['K_SINK'], data=b'{}', method='POST', headers=headers)
                  try:
                      with urllib.request.urlopen(req, timeout=5) as res:
                          print(f'python-{i}', res.status, flush=True)
                  except Exception as err:
                      print(f'python-{i}', err, flush=True)
                  time.sleep(0.3)
${SINK_REF}
`;

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
}

describe('K_SINK for a Service sink (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('is an address curl, Node fetch and Python urllib reach with no DNS set-up', async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    const applied = await wisp.cli(['apply', '-f', await yamlFile(YAML)]);
    expect(applied.code, applied.stderr).toBe(0);
    await waitReady(wisp, 'sink');

    const address = `http://127.0.0.1:${wisp.ports.ingress}/default/sink`;
    const svc = JSON.parse((await wisp.cli(['get', 'ksvc', 'sink', '-o', 'json'])).stdout) as { status: { url: string; address: { url: string } } };
    expect(svc.status.address.url).toBe(address);
    expect(svc.status.url).toBe(`http://sink.default.localhost:${wisp.ports.ingress}`);
    for (const name of ['with-fetch', 'with-curl', 'with-python']) {
      const src = await waitFor(async () => {
        const s = JSON.parse((await wisp!.cli(['get', 'containersources', name, '-o', 'json'])).stdout) as { status?: { sinkUri?: string } };
        return s.status?.sinkUri;
      });
      expect(src).toBe(address);
    }

    const seen = async (): Promise<Seen[]> => {
      const res = await httpRequest({ port: wisp!.ports.ingress, host: 'sink.default.localhost', path: '/_seen' });
      return JSON.parse(res.body) as Seen[];
    };
    const clients = ['fetch', 'curl', 'python'];
    const events = await waitFor(
      async () => {
        const all = await seen();
        return clients.every((c) => all.some((r) => r.headers['ce-id']?.startsWith(`${c}-`))) ? all : undefined;
      },
      { timeoutMs: 30_000, what: 'an event from each of fetch, curl and python' },
    );
    for (const c of clients) {
      const e = events.find((r) => r.headers['ce-id']?.startsWith(`${c}-`))!;
      expect(e).toMatchObject({ method: 'POST', path: '/' });
      expect(e.headers['x-forwarded-prefix']).toBe('/default/sink');
    }
    const logs = await wisp.cli(['logs', 'containersource', 'with-fetch']);
    expect(logs.stdout).toMatch(/post-to-sink fetch-\d+: 202/);
    expect(logs.stdout).not.toContain('ENOTFOUND');

    // curl from outside a workload, with a path under the Service and a query: the prefix is stripped.
    const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-d', 'hi', `${address}/deeper/path?q=1`]);
    expect(stdout).toBe('202');
    expect((await seen()).some((r) => r.path === '/deeper/path?q=1')).toBe(true);
    // A path naming no Service is still a 404 that explains the forms.
    const nope = await httpRequest({ port: wisp.ports.ingress, path: '/default/nope' });
    expect(nope.status).toBe(404);
    expect(nope.body).toContain('/<namespace>/<service>/');
  }, 120_000);
});
