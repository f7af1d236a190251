import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../support/http.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { getJson, helloService, revPath, waitReady, yamlFile } from './helpers.js';

describe('autoscaling under load (e2e)', () => {
  let wisp: WispProcess | undefined;
  afterEach(async () => {
    await wisp?.cleanup();
    wisp = undefined;
  });

  it('answers 50 concurrent slow requests at containerConcurrency 1, panics up, then halves at most per tick down to zero', async () => {
    wisp = await WispProcess.create();
    await wisp.start();
    const cm = `apiVersion: v1
kind: ConfigMap
metadata: {name: config-autoscaler, namespace: knative-serving}
data: {scale-to-zero-grace-period: "6s"}
`;
    expect((await wisp.cli(['apply', '-f', await yamlFile(cm)])).code).toBe(0);
    const yaml = helloService({
      name: 'slow',
      cc: 1,
      annotations: { 'autoscaling.knative.dev/window': '6s', 'autoscaling.knative.dev/max-scale': '8' },
    });
    const applied = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(applied.code, applied.stderr).toBe(0);
    await waitReady(wisp, 'slow');

    // Sample the revision and the panic gauge while the load runs and afterwards.
    const desired: number[] = [];
    let panicSeen = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rev = await getJson(wisp!, revPath('slow-00001'));
        const d = rev.status?.desiredReplicas ?? -1;
        if (desired.at(-1) !== d) desired.push(d);
        const metrics = await (await wisp!.fetch(`/metrics`)).text();
        if (/wisp_autoscaler_panic_mode\{[^}]*revision="default\/slow-00001"[^}]*\} 1/.test(metrics)) panicSeen = true;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => httpRequest({ port: wisp!.ports.ingress, host: 'slow.default.localhost', path: '/?sleep=200' })),
    );
    const elapsed = Date.now() - started;
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(responses.every((r) => r.body === 'Hello World! (revision slow-00001)\n')).toBe(true);

    // Keep the load on for a few ticks so the autoscaler sees it, then stop and watch it come down to zero.
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      await Promise.all(Array.from({ length: 20 }, () => httpRequest({ port: wisp!.ports.ingress, host: 'slow.default.localhost', path: '/?sleep=200' })));
    }
    await waitFor(() => desired.at(-1) === 0, { timeoutMs: 60_000, intervalMs: 200, what: 'slow-00001 back to zero' });
    sampling = false;
    await sampler;

    const peak = Math.max(...desired);
    expect(peak, `desired sequence ${desired.join(',')}; first 50 took ${elapsed} ms`).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(8);
    expect(panicSeen).toBe(true);
    const afterPeak = desired.slice(desired.indexOf(peak));
    for (let i = 1; i < afterPeak.length; i++) {
      const prev = afterPeak[i - 1]!;
      const next = afterPeak[i]!;
      // Scale-down is rate limited to half per tick (max-scale-down-rate 2), the last step (1 → 0) included.
      if (next < prev) expect(next, `desired sequence ${desired.join(',')}`).toBeGreaterThanOrEqual(Math.floor(prev / 2));
    }
    expect(desired.at(-1)).toBe(0);
  }, 120_000);
});
