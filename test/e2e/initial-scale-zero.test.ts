import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { yamlFile } from './helpers.js';

const ALLOW_ZERO = `apiVersion: v1
kind: ConfigMap
metadata: {name: config-autoscaler, namespace: knative-serving}
data:
  allow-zero-initial-scale: "true"
`;

const LAZY = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: lazy, namespace: default}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/initial-scale: "0"}
    spec:
      containers:
        - command: ["${process.execPath}", "hello.js"]
          workingDir: ${join(ROOT, 'test/fixtures/functions')}
`;

interface Obj {
  status?: { actualReplicas?: number; desiredReplicas?: number; conditions?: { type: string; status: string; reason?: string }[] };
}

describe('initial-scale 0 (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('makes the Revision Ready at zero replicas (apply --wait returns), and the first request scales it from zero', async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    const cm = await wisp.cli(['apply', '-f', await yamlFile(ALLOW_ZERO)]);
    expect(cm.code, cm.stderr).toBe(0);

    const t0 = Date.now();
    const applied = await wisp.cli(['apply', '--wait', '--timeout', '20s', '-f', await yamlFile(LAZY)]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);

    const rev = async (): Promise<Obj> => JSON.parse((await wisp!.cli(['get', 'revisions', 'lazy-00001', '-o', 'json'])).stdout) as Obj;
    const atZero = await rev();
    const cond = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);
    expect(cond(atZero, 'Ready')?.status).toBe('True');
    expect(cond(atZero, 'Active')).toMatchObject({ status: 'False', reason: 'NoTraffic' });
    expect(atZero.status).toMatchObject({ actualReplicas: 0, desiredReplicas: 0 });
    // No process was started for it.
    const logs = await wisp.cli(['logs', 'lazy']);
    expect(logs.stdout).not.toContain('hello: listening');

    const res = await httpRequest({ port: wisp.ports.ingress, host: 'lazy.default.localhost' });
    expect(res.status).toBe(200);
    expect(Number(res.headers['x-wisp-cold-start'])).toBeGreaterThan(0);
    await waitFor(async () => (await rev()).status?.actualReplicas === 1, { what: 'lazy-00001 at one replica' });
  }, 90_000);
});
