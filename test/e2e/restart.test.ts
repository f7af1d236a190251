import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { getJson, helloService, svcPath, waitReady, yamlFile } from './helpers.js';

async function replicaPids(wisp: WispProcess): Promise<number[]> {
  const doc = JSON.parse(await readFile(join(wisp.stateDir, 'replicas.json'), 'utf8')) as { replicas: { pid: number }[] };
  return doc.replicas.map((r) => r.pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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

    const orphans = await replicaPids(wisp);
    expect(orphans.length).toBeGreaterThan(0);
    await wisp.stop('SIGKILL');
    expect(orphans.filter(alive)).toEqual(orphans); // SIGKILL leaves replicas behind...
    await wisp.start();
    await waitFor(() => orphans.filter(alive).length === 0, { what: 'orphaned replicas reaped' }); // ...the next start reaps them

    const after = await waitReady(wisp, 'hello');
    expect(after.metadata).toMatchObject({ name: 'hello', generation: before.metadata.generation });
    const revsAfter = JSON.parse((await wisp.cli(['get', 'revisions', '-o', 'json'])).stdout) as { items: { metadata: { name: string; uid: string } }[] };
    expect(revsAfter.items.map((r) => [r.metadata.name, r.metadata.uid])).toEqual(revsBefore.items.map((r) => [r.metadata.name, r.metadata.uid]));
    const res = await httpRequest({ port: wisp.ports.ingress, host: 'hello.default.localhost' });
    expect(res.body).toBe('Hello two! (revision hello-00002)\n');

    // The same spec applied again after the restart cuts no new revision.
    expect((await wisp.cli(['apply', '-f', two])).stdout).toContain('unchanged');
    expect((await getJson(wisp, svcPath('hello'))).status?.latestCreatedRevisionName).toBe('hello-00002');

    // SIGTERM drains and stops every replica, and exits 0.
    const running = await replicaPids(wisp);
    expect(running.length).toBeGreaterThan(0);
    expect(await wisp.stop('SIGTERM')).toBe(0);
    expect(running.filter(alive)).toEqual([]);
  }, 90_000);
});
