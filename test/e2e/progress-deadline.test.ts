import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { freePort, waitFor } from '../support/wait.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { yamlFile } from './helpers.js';

const FIXTURES = join(ROOT, 'test/fixtures/functions');

/** A function that listens on a fixed port instead of $PORT, with a short progress deadline. */
const fixedPortService = (fixed: number): string => `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: fixed, namespace: default}
spec:
  template:
    metadata:
      annotations:
        serving.knative.dev/progress-deadline: "3s"
    spec:
      containers:
        - command: ["${process.execPath}", "fixed-port.js"]
          workingDir: ${FIXTURES}
          env:
            - {name: FIXED_PORT, value: "${fixed}"}
`;

interface Revision {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

describe('a function listening on a fixed port instead of $PORT (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('fails its Revision with ProgressDeadlineExceeded naming the port, and waiting requests get 503 fast', async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    const fixed = await freePort();
    const file = await yamlFile(fixedPortService(fixed));
    const t0 = Date.now();
    const applied = await wisp.cli(['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);

    // The first request routed to it waits for a replica, then fails fast once the deadline passes (not after 300 s).
    const first = await waitFor(
      async () => {
        const r = await httpRequest({ port: wisp!.ports.ingress, host: 'fixed.default.localhost', timeoutMs: 30_000 });
        return r.status !== 404 ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'a routed request' },
    );
    const elapsed = Date.now() - t0;
    expect(first.status).toBe(503);
    expect(first.body).toContain('ProgressDeadlineExceeded');
    expect(first.body).toMatch(new RegExp(`listening on ${fixed}; listen on \\$PORT \\(\\d+\\)`));
    expect(elapsed).toBeGreaterThanOrEqual(2_500);
    expect(elapsed).toBeLessThan(20_000);

    const got = await wisp.cli(['get', 'revisions', 'fixed-00001', '-o', 'json']);
    expect(got.code, got.stderr).toBe(0);
    const ready = (JSON.parse(got.stdout) as Revision).status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(ready?.message).toMatch(new RegExp(`listening on ${fixed}; listen on \\$PORT \\(\\d+\\)`));

    // `apply --wait` says so instead of timing out.
    const waited = await wisp.cli(['apply', '--wait', '-f', file]);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain('ProgressDeadlineExceeded');
    expect(waited.stderr).toContain(`listening on ${fixed}; listen on $PORT`);

    // Later requests fail at once with the same reason.
    const t1 = Date.now();
    const again = await httpRequest({ port: wisp.ports.ingress, host: 'fixed.default.localhost' });
    expect(again.status).toBe(503);
    expect(again.body).toContain('ProgressDeadlineExceeded');
    expect(Date.now() - t1).toBeLessThan(2_000);
  }, 90_000);
});
