import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { getJson, helloService, svcPath, waitReady, yamlFile } from './helpers.js';

describe('revisions and traffic (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('cuts -00002 on an env edit only, splits traffic 50/50 and answers a tag host', async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    const v1 = await yamlFile(helloService({ name: 'hello', target: 'World' }));
    expect((await wisp.cli(['apply', '-f', v1])).stdout.trim()).toBe('service.serving.knative.dev/hello created');
    await waitReady(wisp, 'hello');
    expect((await wisp.cli(['apply', '-f', v1])).stdout.trim()).toBe('service.serving.knative.dev/hello unchanged');

    const v2 = await yamlFile(
      helloService({
        name: 'hello',
        target: 'Wisp',
        traffic: [
          '    - revisionName: hello-00001',
          '      percent: 50',
          '    - latestRevision: true',
          '      percent: 50',
          '    - latestRevision: true',
          '      tag: canary',
          '      percent: 0',
        ].join('\n'),
      }),
    );
    const applied = await wisp.cli(['apply', '-f', v2]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim()).toBe('service.serving.knative.dev/hello configured');
    const svc = await waitReady(wisp, 'hello');
    expect(svc.status?.latestCreatedRevisionName).toBe('hello-00002');

    const revs = await wisp.cli(['get', 'revisions']);
    expect(revs.code).toBe(0);
    expect(revs.stdout).toMatch(/^hello-00001\s/m);
    expect(revs.stdout).toMatch(/^hello-00002\s/m);

    // Both revisions answer on the main host.
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) {
      const res = await httpRequest({ port: wisp.ports.ingress, host: 'hello.default.localhost' });
      expect(res.status).toBe(200);
      seen.add(res.body.trim());
    }
    expect([...seen].sort()).toEqual(['Hello Wisp! (revision hello-00002)', 'Hello World! (revision hello-00001)']);

    // The tag answers on its own host, always the newest revision.
    for (let i = 0; i < 5; i++) {
      const res = await httpRequest({ port: wisp.ports.ingress, host: 'canary-hello.default.localhost' });
      expect(res.body).toBe('Hello Wisp! (revision hello-00002)\n');
    }
    const status = (await getJson(wisp, svcPath('hello'))).status;
    expect(status?.traffic?.find((t) => t.tag === 'canary')?.url).toBe(`http://canary-hello.default.localhost:${wisp.ports.ingress}`);

    // Re-applying the same edit cuts nothing new.
    expect((await wisp.cli(['apply', '-f', v2])).stdout.trim()).toBe('service.serving.knative.dev/hello unchanged');
    const all = await wisp.cli(['get', 'revisions', '-o', 'json']);
    const list = JSON.parse(all.stdout) as { kind: string; items: { metadata: { name: string } }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((r) => r.metadata.name)).toEqual(['hello-00001', 'hello-00002']);

    // Deleting the Service deletes its revisions and route and stops answering on its host.
    const deleted = await wisp.cli(['delete', 'ksvc', 'hello']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout.trim()).toBe('service.serving.knative.dev "hello" deleted');
    await waitFor(async () => JSON.parse((await wisp!.cli(['get', 'revisions', '-o', 'json'])).stdout).items.length === 0, { what: 'revisions gone' });
    await waitFor(async () => (await httpRequest({ port: wisp!.ports.ingress, host: 'hello.default.localhost' })).status === 404, { what: 'host gone' });
  }, 90_000);
});
