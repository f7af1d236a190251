import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { freePort } from '../support/wait.js';
import { ROOT, runCli, WispProcess } from '../support/wisp.js';
import { waitReady, yamlFile } from './helpers.js';

/** The fixture answers with its pid: the same pid before and after proves the same replica. */
const WHOAMI = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: whoami, namespace: default}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1"}
    spec:
      containers:
        - command: ["${process.execPath}", "hello.js"]
          workingDir: ${join(ROOT, 'test/fixtures/functions')}
`;

describe('two wisp up on one state dir (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('the second refuses before touching anything: the first one\'s replica survives and still answers', async () => {
    wisp = await WispProcess.create();
    await wisp.start([await yamlFile(WHOAMI)]);
    await waitReady(wisp, 'whoami');
    const before = await httpRequest({ port: wisp.ports.ingress, host: 'whoami.default.localhost' });
    expect(before.status).toBe(200);
    const replicaPid = (JSON.parse(before.body) as { pid: number }).pid;

    // The state dir as the user gives it (relative to the working directory) is what the message names.
    const second = await runCli(
      ['up', '--state-dir', basename(wisp.stateDir), '--ingress-port', String(await freePort()), '--broker-port', String(await freePort()), '--api-port', String(await freePort())],
      { cwd: dirname(wisp.stateDir), timeoutMs: 30_000 },
    );
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(`wisp up: another wisp up (pid ${wisp.pid}) is using ${basename(wisp.stateDir)}`);
    expect(second.stderr + second.stdout).not.toContain('orphaned');

    // The same replica process, still answering; the first instance noticed nothing.
    const after = await httpRequest({ port: wisp.ports.ingress, host: 'whoami.default.localhost' });
    expect(after.status).toBe(200);
    expect((JSON.parse(after.body) as { pid: number }).pid).toBe(replicaPid);
    expect(wisp.output).not.toContain('orphaned');
    expect(wisp.child?.exitCode).toBeNull();

    // Once the first one stops, the lock is released and the state dir can be used again.
    expect(await wisp.stop()).toBe(0);
    await wisp.start();
    await waitReady(wisp, 'whoami');
  }, 90_000);
});
