import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { Recorder } from '../support/recorder.js';
import { waitFor } from '../support/wait.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { getJson, yamlFile } from './helpers.js';

const PUBLISHER_DIR = join(ROOT, 'examples/sinkbinding');

const bindingYaml = (sinkUri: string): string => `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: {name: bind-publisher, namespace: default}
spec:
  subject:
    apiVersion: serving.knative.dev/v1
    kind: Service
    selector: {matchLabels: {app: publisher}}
  sink: {uri: ${sinkUri}}
  ceOverrides: {extensions: {origin: e2e}}
`;

const publisherYaml = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: publisher
  namespace: default
  labels: {app: publisher}
spec:
  template:
    spec:
      containers:
        - command: ["${process.execPath}", "publisher.js"]
          workingDir: ${PUBLISHER_DIR}
`;

describe('SinkBinding (e2e)', () => {
  let wisp: WispProcess;
  let first: Recorder;
  let second: Recorder;
  beforeAll(async () => {
    first = await new Recorder().start();
    second = await new Recorder().start();
    wisp = await WispProcess.create();
    await wisp.start();
  }, 60_000);
  afterAll(async () => {
    await wisp.cleanup();
    await first.stop();
    await second.stop();
  });

  const publish = (order: number) =>
    httpRequest({ port: wisp.ports.ingress, host: 'publisher.default.localhost', method: 'POST', body: JSON.stringify({ order }), headers: { 'content-type': 'application/json' } });

  it('gives the subject Service K_SINK and K_CE_OVERRIDES, and rolls a new revision when the sink changes', async () => {
    // The binding first, in the same file: the Service's first revision already carries K_SINK.
    const applied = await wisp.cli(['apply', '-f', await yamlFile(`${bindingYaml(first.url)}---\n${publisherYaml}`), '--wait', '--timeout', '60s']);
    expect(applied.code, applied.stderr).toBe(0);
    const got = await wisp.cli(['get', 'sinkbindings']);
    expect(got.stdout).toMatch(/^NAME\s+SUBJECT\s+SINK\s+READY\s+REASON\s+AGE$/m);
    expect(got.stdout).toMatch(/bind-publisher\s+service:app=publisher\s+http:\/\/127\.0\.0\.1:\d+\/?\s+True/);

    const res = await publish(1);
    expect(res.status, res.body).toBe(202);
    const event = await waitFor(() => first.requests[0], { what: 'the event at the first sink' });
    expect(event.headers['ce-type']).toBe('dev.example.order');
    expect(event.headers['ce-origin']).toBe('e2e');
    expect(JSON.parse(event.body)).toEqual({ order: 1 });
    expect((await getJson(wisp, '/apis/serving.knative.dev/v1/namespaces/default/services/publisher')).status?.latestReadyRevisionName).toBe('publisher-00001');

    const moved = await wisp.cli(['apply', '-f', await yamlFile(bindingYaml(second.url)), '--wait', '--timeout', '60s']);
    expect(moved.code, moved.stderr).toBe(0);
    await waitFor(async () => (await getJson(wisp, '/apis/serving.knative.dev/v1/namespaces/default/services/publisher')).status?.latestReadyRevisionName === 'publisher-00002', {
      what: 'publisher-00002 ready',
      timeoutMs: 30_000,
    });
    const rev = await getJson(wisp, '/apis/serving.knative.dev/v1/namespaces/default/revisions/publisher-00002');
    const env = (rev.spec as { containers: { env?: { name: string; value: string }[] }[] }).containers[0]?.env ?? [];
    expect(env).toContainEqual({ name: 'K_SINK', value: second.url });
    expect(env).toContainEqual({ name: 'K_CE_OVERRIDES', value: '{"extensions":{"origin":"e2e"}}' });

    await waitFor(async () => (await publish(2)).status === 202 && second.requests.length > 0, { what: 'an event at the second sink', timeoutMs: 20_000 });
    expect(JSON.parse(second.requests.at(-1)?.body ?? '')).toEqual({ order: 2 });
  }, 120_000);

  it('rejects a subject that cannot run locally, naming the field', async () => {
    const bad = `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: {name: bad, namespace: default}
spec:
  subject: {apiVersion: apps/v1, kind: Deployment, name: web}
  sink: {uri: http://127.0.0.1:9/}
`;
    const res = await wisp.cli(['apply', '-f', await yamlFile(bad)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.subject: cannot bind apps/v1 Deployment');
  });
});
