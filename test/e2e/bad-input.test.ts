import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { getJson, helloService, revPath, svcPath, waitReady, yamlFile } from './helpers.js';

describe('bad input gets a precise error and crashes nothing (e2e)', () => {
  let wisp: WispProcess;
  beforeAll(async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    expect((await wisp.cli(['apply', '-f', await yamlFile(helloService({ name: 'hello' }))])).code).toBe(0);
    await waitReady(wisp, 'hello');
  }, 60_000);
  afterAll(async () => {
    await wisp.cleanup();
  });

  it('a YAML syntax error names the file, line and column; exit 1', async () => {
    const file = await yamlFile('apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: [oops\n', 'broken.yaml');
    const res = await wisp.cli(['apply', '-f', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/broken\.yaml:\d+:\d+/);
  });

  it('a missing container names spec.template.spec.containers; exit 1', async () => {
    const yaml = 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: empty\nspec:\n  template:\n    spec:\n      containers: []\n';
    const res = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.template.spec.containers');
  });

  it('a negative containerConcurrency names the field; exit 1', async () => {
    const res = await wisp.cli(['apply', '-f', await yamlFile(helloService({ name: 'neg', cc: -1 }))]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.template.spec.containerConcurrency');
  });

  it('percents that do not sum to 100 name spec.traffic; exit 1', async () => {
    const yaml = helloService({ name: 'hello', traffic: '    - latestRevision: true\n      percent: 90' });
    const res = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.traffic');
    expect(res.stderr).toContain('90');
  });

  it('a traffic entry naming an unknown revision names it; exit 1', async () => {
    const yaml = helloService({ name: 'hello', traffic: '    - revisionName: hello-00009\n      percent: 100' });
    const res = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.traffic[0].revisionName');
    expect(res.stderr).toContain('hello-00009');
  });

  it('an unknown Host gets 404 naming the host', async () => {
    const res = await httpRequest({ port: wisp.ports.ingress, host: 'nope.default.localhost' });
    expect(res.status).toBe(404);
    expect(res.body).toContain('nope.default.localhost');
  });

  it('a command that cannot start fails its waiting requests fast with 503 and the reason', async () => {
    const yaml = helloService({ name: 'broken' }).replace(`"${process.execPath}", "hello.js"`, '"/nonexistent/wisp-no-such-command"');
    expect((await wisp.cli(['apply', '-f', await yamlFile(yaml)])).code).toBe(0);
    const started = Date.now();
    const res = await httpRequest({ port: wisp.ports.ingress, host: 'broken.default.localhost' });
    expect(res.status).toBe(503);
    expect(res.body).toContain('ExitCode127');
    expect(Date.now() - started).toBeLessThan(5_000);
    const svc = await waitFor(async () => {
      const s = await getJson(wisp, svcPath('broken'));
      return s.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False') ? s : undefined;
    });
    expect(svc.status?.conditions?.find((c) => c.type === 'ConfigurationsReady')?.reason).toBe('RevisionFailed');
  });

  it('an image-only container is ImageNotRunnableLocally', async () => {
    const yaml = 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: imageonly\nspec:\n  template:\n    spec:\n      containers:\n        - image: ghcr.io/example/hello:latest\n';
    expect((await wisp.cli(['apply', '-f', await yamlFile(yaml)])).code).toBe(0);
    const rev = await waitFor(async () => {
      const r = await getJson(wisp, revPath('imageonly-00001'));
      return r.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False') ? r : undefined;
    });
    const ready = rev.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('ImageNotRunnableLocally');
    expect(ready?.message).toContain('command');
  });

  it('after all of that the platform is still healthy and serving', async () => {
    expect((await fetch(`${wisp.server}/healthz`)).status).toBe(200);
    const res = await httpRequest({ port: wisp.ports.ingress, host: 'hello.default.localhost' });
    expect(res.status).toBe(200);
  });
});
