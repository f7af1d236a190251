import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { WispProcess } from '../support/wisp.js';
import { getJson, helloService, svcPath, waitReady, yamlFile } from './helpers.js';

describe('wisp up restarts (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('killed with SIGKILL and started again brings back the same services and revisions', async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    expect((await wisp.cli(['apply', '-f', await yamlFile(helloService({ name: 'hello', target: 'one' }))])).code).toBe(0);
    await waitReady(wisp, 'hello');
    const two = await yamlFile(helloService({ name: 'hello', target: 'two' }));
    expect((await wisp.cli(['apply', '-f', two])).code).toBe(0);
    const before = await waitReady(wisp, 'hello');
    expect(before.status?.latestReadyRevisionName).toBe('hello-00002');
    const revsBefore = JSON.parse((await wisp.cli(['get', 'revisions', '-o', 'json'])).stdout) as { items: { metadata: { name: string; uid: string } }[] };

    await wisp.stop('SIGKILL');
    await wisp.start();

    const after = await waitReady(wisp, 'hello');
    expect(after.metadata).toMatchObject({ name: 'hello', generation: before.metadata.generation });
    const revsAfter = JSON.parse((await wisp.cli(['get', 'revisions', '-o', 'json'])).stdout) as { items: { metadata: { name: string; uid: string } }[] };
    expect(revsAfter.items.map((r) => [r.metadata.name, r.metadata.uid])).toEqual(revsBefore.items.map((r) => [r.metadata.name, r.metadata.uid]));
    const res = await httpRequest({ port: wisp.ports.ingress, host: 'hello.default.localhost' });
    expect(res.body).toBe('Hello two! (revision hello-00002)\n');

    // The same spec applied again after the restart cuts no new revision.
    expect((await wisp.cli(['apply', '-f', two])).stdout).toContain('unchanged');
    expect((await getJson(wisp, svcPath('hello'))).status?.latestCreatedRevisionName).toBe('hello-00002');
  }, 90_000);
});
