import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../support/recorder.js';
import { waitFor } from '../support/wait.js';
import { WispProcess } from '../support/wisp.js';
import { yamlFile } from './helpers.js';

const source = (spec: string): string => `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: heartbeat
  namespace: default
spec:
${spec}`;

describe('PingSource (e2e)', () => {
  let wisp: WispProcess;
  let sub: Recorder;
  beforeAll(async () => {
    sub = await new Recorder().start();
    wisp = await WispProcess.create();
    await wisp.start();
  }, 60_000);
  afterAll(async () => {
    await wisp.cleanup();
    await sub.stop();
  });

  it('delivers one ping every 2 s through a Broker and a Trigger, and stops when deleted', async () => {
    const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: pings, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: dev.knative.sources.ping}}
  subscriber: {uri: ${sub.url}}
---
${source(`  schedule: "*/2 * * * * *"
  contentType: application/json
  data: '{"msg":"hi"}'
  ceOverrides: {extensions: {origin: e2e}}
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}`)}`;
    const applied = await wisp.cli(['apply', '-f', await yamlFile(yaml)]);
    expect(applied.code, applied.stderr).toBe(0);
    await waitFor(() => sub.requests.length >= 3, { timeoutMs: 15_000, what: '3 pings' });
    const [a, b] = sub.requests.slice(-2);
    expect(a?.headers['ce-type']).toBe('dev.knative.sources.ping');
    expect(a?.headers['ce-source']).toBe('/apis/v1/namespaces/default/pingsources/heartbeat');
    expect(a?.headers['ce-origin']).toBe('e2e');
    expect(a?.body).toBe('{"msg":"hi"}');
    expect(a?.headers['ce-id']).not.toBe(b?.headers['ce-id']);
    const gap = Date.parse(String(b?.headers['ce-time'])) - Date.parse(String(a?.headers['ce-time']));
    expect(gap).toBe(2000);
    const listed = await wisp.cli(['get', 'pingsources']);
    expect(listed.stdout).toMatch(/heartbeat\s+\*\/2 \* \* \* \* \*\s+http:\/\/127\.0\.0\.1:\d+\/default\/default\s+True/);
    const metrics = await (await wisp.fetch(`/metrics`)).text();
    const delivered = /wisp_source_events_total\{kind="PingSource",source="default\/heartbeat",result="delivered"\} (\d+)/.exec(metrics);
    expect(Number(delivered?.[1])).toBeGreaterThanOrEqual(3);

    expect((await wisp.cli(['delete', 'pingsource', 'heartbeat'])).code).toBe(0);
    const count = sub.requests.length;
    await new Promise((r) => setTimeout(r, 4_500));
    expect(sub.requests.length).toBeLessThanOrEqual(count + 1); // at most one already on the wire
  }, 60_000);

  it('a sink that is down: the source retries and reports, keeps ticking, and delivers again once the sink is back', async () => {
    let down = true;
    const flaky = await new Recorder(() => ({ status: down ? 503 : 202 })).start();
    try {
      const yaml = source(`  schedule: "* * * * * *"\n  data: '{"n":1}'\n  sink: {uri: ${flaky.url}}`).replace('name: heartbeat', 'name: flaky');
      expect((await wisp.cli(['apply', '-f', await yamlFile(yaml)])).code).toBe(0);
      await waitFor(() => wisp.output.includes(`PingSource default/flaky: event not delivered to ${flaky.url}`), { what: 'a reported failure', timeoutMs: 20_000 });
      expect(wisp.output).toMatch(/after 4 attempt\(s\): HTTP 503/);
      expect(await (await wisp.fetch(`/metrics`)).text()).toMatch(/wisp_source_events_total\{kind="PingSource",source="default\/flaky",result="failed"\} [1-9]/);
      const failedAttempts = flaky.requests.length;
      expect(failedAttempts).toBeGreaterThan(4);
      down = false;
      await waitFor(() => flaky.requests.length >= failedAttempts + 3, { what: 'deliveries after the sink came back', timeoutMs: 20_000 });
      expect((await fetch(`${wisp.server}/readyz`)).status).toBe(200);
      expect((await wisp.cli(['delete', 'pingsource', 'flaky'])).code).toBe(0);
    } finally {
      await flaky.stop();
    }
  }, 60_000);

  it('a sink that does not resolve is reported in status, not a crash', async () => {
    const yaml = source(`  schedule: "* * * * * *"\n  sink:\n    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: nowhere}`).replace('name: heartbeat', 'name: orphan');
    expect((await wisp.cli(['apply', '-f', await yamlFile(yaml)])).code).toBe(0);
    const got = await waitFor(async () => {
      const r = await wisp.cli(['get', 'pingsources', 'orphan']);
      return /orphan\s+\* \* \* \* \* \*\s+False\s+NotFound/.test(r.stdout) ? r.stdout : undefined;
    }, { what: 'READY False, NotFound' });
    expect(got).toContain('NotFound');
    const described = await wisp.cli(['describe', 'pingsource', 'orphan']);
    expect(described.stdout).toContain('brokers.eventing.knative.dev "nowhere" not found');
    expect((await wisp.cli(['delete', 'pingsource', 'orphan'])).code).toBe(0);
  });

  it('rejects a bad schedule, an unknown time zone, and data with dataBase64, naming the field', async () => {
    const sink = '  sink: {uri: http://127.0.0.1:9/}';
    const cases: [string, string][] = [
      [`  schedule: "61 * * * *"\n${sink}`, 'spec.schedule'],
      [`  schedule: "* * * * *"\n  timezone: Mars/Base\n${sink}`, 'spec.timezone'],
      [`  schedule: "* * * * *"\n  data: hi\n  dataBase64: aGk=\n${sink}`, 'dataBase64'],
    ];
    for (const [spec, field] of cases) {
      const res = await wisp.cli(['apply', '-f', await yamlFile(source(spec))]);
      expect(res.code, spec).toBe(1);
      expect(res.stderr).toContain(field);
    }
  });
});
