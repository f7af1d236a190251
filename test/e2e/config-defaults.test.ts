/**
 * config-defaults through the real CLI and control API of an embedded `wisp up`: applied with `wisp apply`, it
 * defaults the next ksvc's revision (and its admission); a bad one is refused with the key and the reason; a ksvc
 * over its limits is refused with the field path. Embedded admission still refuses what only Kubernetes mode accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WispProcess } from '../support/wisp.js';
import { HELLO_DIR, yamlFile } from './helpers.js';

const configDefaults = (data: Record<string, string>): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-defaults
  namespace: knative-serving
data:
${Object.entries(data)
  .map(([k, v]) => `  ${k}: "${v}"`)
  .join('\n')}
`;

// No containerConcurrency and no timeoutSeconds: config-defaults gives them.
const hello = (target: string, extra = ''): string => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
${extra}      containers:
        - command: ["${process.execPath}", "hello.js"]
          workingDir: ${HELLO_DIR}
          env:
            - name: TARGET
              value: "${target}"
`;

interface RevisionJson {
  spec: { containerConcurrency?: number; timeoutSeconds?: number; containers: { name?: string }[] };
}

describe('config-defaults, embedded (e2e)', () => {
  let wisp: WispProcess;
  beforeAll(async () => {
    wisp = await WispProcess.create();
    await wisp.start();
  }, 60_000);
  afterAll(async () => wisp?.cleanup());

  const revision = async (name: string): Promise<RevisionJson> => {
    const res = await wisp.fetch(`/apis/serving.knative.dev/v1/namespaces/default/revisions/${name}`);
    expect(res.status).toBe(200);
    return (await res.json()) as RevisionJson;
  };

  it('revision-timeout-seconds 42 and container-concurrency 3 applied through the control API default the next ksvc\'s revision', async () => {
    const cm = await wisp.cli(['apply', '-f', await yamlFile(configDefaults({ 'revision-timeout-seconds': '42', 'container-concurrency': '3' }))]);
    expect(cm, cm.stderr).toMatchObject({ code: 0, stdout: 'configmap/config-defaults created\n' });
    const svc = await wisp.cli(['apply', '-f', await yamlFile(hello('one'))]);
    expect(svc, svc.stderr).toMatchObject({ code: 0, stdout: 'service.serving.knative.dev/hello created\n' });
    expect((await revision('hello-00001')).spec).toMatchObject({ timeoutSeconds: 42, containerConcurrency: 3, containers: [{ name: 'user-container' }] });
  }, 60_000);

  it('a config-defaults that does not parse is refused with the key, the value and why; the one before stays', async () => {
    const bad = await wisp.cli(['apply', '-f', await yamlFile(configDefaults({ 'revision-timeout-seconds': 'soon', 'container-concurrency': '3' }))]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('data.revision-timeout-seconds: invalid value "soon": want an integer');
    const over = await wisp.cli(['apply', '-f', await yamlFile(configDefaults({ 'revision-timeout-seconds': '900' }))]);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('data.revision-timeout-seconds: revision-timeout-seconds (900) cannot be greater than max-revision-timeout-seconds (600)');
    const cm = (await (await wisp.fetch('/api/v1/namespaces/knative-serving/configmaps/config-defaults')).json()) as { data: Record<string, string> };
    expect(cm.data['revision-timeout-seconds']).toBe('42');
  }, 60_000);

  it('a ksvc over max-revision-timeout-seconds or container-concurrency-max-limit is refused with the field path', async () => {
    const limits = await wisp.cli(['apply', '-f', await yamlFile(configDefaults({ 'revision-timeout-seconds': '42', 'max-revision-timeout-seconds': '100', 'container-concurrency-max-limit': '10' }))]);
    expect(limits, limits.stderr).toMatchObject({ code: 0, stdout: 'configmap/config-defaults configured\n' });
    const over = await wisp.cli(['apply', '-f', await yamlFile(hello('two', '      timeoutSeconds: 101\n      containerConcurrency: 11\n'))]);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('spec.template.spec.containerConcurrency: expected 0 <= 11 <= 10');
    expect(over.stderr).toContain('spec.template.spec.timeoutSeconds: expected 0 <= 101 <= 100');
    // Within them: a new revision, with the defaults of now (container-concurrency is no longer set: 0).
    const ok = await wisp.cli(['apply', '-f', await yamlFile(hello('two', '      timeoutSeconds: 100\n'))]);
    expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: 'service.serving.knative.dev/hello configured\n' });
    expect((await revision('hello-00002')).spec).toMatchObject({ timeoutSeconds: 100, containerConcurrency: 0 });
    // Existing revisions did not change.
    expect((await revision('hello-00001')).spec).toMatchObject({ timeoutSeconds: 42, containerConcurrency: 3 });
  }, 60_000);

  it('embedded admission still refuses an ApiServerSource of a kind it does not serve, as before', async () => {
    const res = await wisp.cli([
      'apply',
      '-f',
      await yamlFile(`apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata:
  name: events
spec:
  mode: Resource
  resources:
    - apiVersion: v1
      kind: Event
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: hello
`),
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.resources[0]: unknown kind "Event" in "v1"');
  }, 60_000);
});
