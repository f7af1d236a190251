import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { getJson, helloService, revPath, waitReady, yamlFile } from './helpers.js';

const FAST_SCALE_TO_ZERO = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "6s"
  scale-to-zero-grace-period: "6s"
`;

describe('a Service applied while Wisp runs (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('becomes Ready, scales to zero after the stable window plus grace, and one request brings it back', async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    const cm = await wisp.cli(['apply', '-f', await yamlFile(FAST_SCALE_TO_ZERO)]);
    expect(cm.code, cm.stderr).toBe(0);
    expect(cm.stdout).toContain('configmap/config-autoscaler created');

    const applied = await wisp.cli(['apply', '-f', await yamlFile(helloService({ name: 'hello' }))]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim()).toBe('service.serving.knative.dev/hello created');

    const svc = await waitReady(wisp, 'hello');
    expect(svc.status?.url).toBe(`http://hello.default.localhost:${wisp.ports.ingress}`);
    expect(svc.status?.latestReadyRevisionName).toBe('hello-00001');

    // No traffic: the stable average is 0; after the grace period the revision goes to zero.
    await waitFor(
      async () => {
        const rev = await getJson(wisp!, revPath('hello-00001'));
        return rev.status?.actualReplicas === 0 && rev.status.desiredReplicas === 0;
      },
      { timeoutMs: 40_000, intervalMs: 250, what: 'hello-00001 at zero replicas' },
    );
    const atZero = await wisp.cli(['get', 'revisions']);
    expect(atZero.stdout).toMatch(/^hello-00001\s.*\s0\s+0\s+\d+s\s*$/m); // ACTUAL 0, DESIRED 0, AGE

    const res = await httpRequest({ port: wisp.ports.ingress, host: 'hello.default.localhost' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('Hello World! (revision hello-00001)\n');
    expect(Number(res.headers['x-wisp-cold-start'])).toBeGreaterThan(0);

    const rev = await waitFor(async () => {
      const r = await getJson(wisp!, revPath('hello-00001'));
      return r.status?.actualReplicas === 1 ? r : undefined;
    });
    expect(rev.status?.desiredReplicas).toBe(1);
  }, 90_000);
});
