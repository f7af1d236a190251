import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../support/recorder.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { helloService, yamlFile } from './helpers.js';

describe('ApiServerSource (e2e)', () => {
  let wisp: WispProcess;
  let sub: Recorder;
  beforeAll(async () => {
    sub = await new Recorder().start();
    wisp = await WispProcess.create();
    await wisp.start();
  }, 60_000);
  afterAll(async () => {
    await wisp.cleanup();
    await sub.stop();
  });

  it('emits resource.add when a Service is applied and resource.delete when it is deleted', async () => {
    const source = `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: {name: services, namespace: default}
spec:
  mode: Resource
  resources:
    - {apiVersion: serving.knative.dev/v1, kind: Service}
  sink: {uri: ${sub.url}}
`;
    const applied = await wisp.cli(['apply', '-f', await yamlFile(source), '--wait', '--timeout', '30s']);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await wisp.cli(['get', 'apiserversources'])).stdout).toMatch(/services\s+Service\s+http:\/\/127\.0\.0\.1:\d+\s+True/);

    expect((await wisp.cli(['apply', '-f', await yamlFile(helloService({ name: 'watched' }))])).code).toBe(0);
    const add = await waitFor(() => sub.requests.find((r) => r.headers['ce-type'] === 'dev.knative.apiserver.resource.add'), { what: 'resource.add' });
    expect(add.headers['ce-subject']).toBe('/apis/serving.knative.dev/v1/namespaces/default/services/watched');
    expect(add.headers['ce-source']).toBe(wisp.server);
    expect(add.headers['ce-kind']).toBe('Service');
    expect((JSON.parse(add.body) as { metadata: { name: string } }).metadata.name).toBe('watched');

    expect((await wisp.cli(['delete', 'ksvc', 'watched'])).code).toBe(0);
    const del = await waitFor(() => sub.requests.find((r) => r.headers['ce-type'] === 'dev.knative.apiserver.resource.delete'), { what: 'resource.delete' });
    expect(del.headers['ce-subject']).toBe('/apis/serving.knative.dev/v1/namespaces/default/services/watched');
  }, 60_000);

  it('rejects an unknown resource kind with the field', async () => {
    const bad = `apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: {name: bad, namespace: default}
spec:
  resources: [{apiVersion: x/v1, kind: Foo}]
  sink: {uri: http://127.0.0.1:9/}
`;
    const res = await wisp.cli(['apply', '-f', await yamlFile(bad)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.resources[0]');
  });
});
