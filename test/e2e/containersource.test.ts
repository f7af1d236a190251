import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../integration/runtime/local-helpers.js';
import { Recorder } from '../support/recorder.js';
import { waitFor } from '../support/wait.js';
import { ROOT, WispProcess } from '../support/wisp.js';
import { yamlFile } from './helpers.js';

const HEARTBEAT_YAML = join(ROOT, 'examples/heartbeat/heartbeat.yaml');


/** Pids the ContainerSources' runtime recorded in the state dir (for orphan reaping), by replica. */
async function recordedPids(stateDir: string): Promise<number[]> {
  const text = await readFile(join(stateDir, 'containersources/replicas.json'), 'utf8').catch(() => '{"replicas":[]}');
  return ((JSON.parse(text) as { replicas: { pid: number }[] }).replicas ?? []).map((r) => r.pid);
}

describe('ContainerSource (e2e)', () => {
  let wisp: WispProcess;
  let sub: Recorder;
  beforeAll(async () => {
    sub = await new Recorder().start();
    wisp = await WispProcess.create({ WISP_LOG_LEVEL: 'info' });
    await wisp.start();
  }, 60_000);
  afterAll(async () => {
    await wisp.cleanup();
    await sub.stop();
  });

  it('runs examples/heartbeat: an event about every second through a Broker and a Trigger, with the ce-origin override; delete stops it', async () => {
    const wiring = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: heartbeats-to-recorder, namespace: default}
spec:
  broker: default
  filter: {attributes: {type: dev.knative.eventing.samples.heartbeat}}
  subscriber: {uri: ${sub.url}}`;
    expect((await wisp.cli(['apply', '-f', await yamlFile(wiring)])).code).toBe(0);
    // The example as a user applies it: workingDir "." is the example's folder.
    const applied = await wisp.cli(['apply', '-f', HEARTBEAT_YAML]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('containersource.sources.knative.dev/heartbeat created');

    await waitFor(() => sub.requests.length >= 4, { timeoutMs: 15_000, what: '4 heartbeats' });
    const beats = sub.requests.slice(0, 4);
    for (const b of beats) {
      expect(b.headers['ce-type']).toBe('dev.knative.eventing.samples.heartbeat');
      expect(b.headers['ce-origin']).toBe('heartbeat');
    }
    expect(beats.map((b) => (JSON.parse(b.body) as { id: number }).id)).toEqual([1, 2, 3, 4]);
    const gaps = beats.slice(1).map((b, i) => b.at - (beats[i]?.at ?? 0));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(500);
      expect(gap).toBeLessThan(1600);
    }

    const listed = await wisp.cli(['get', 'containersources']);
    expect(listed.stdout).toMatch(/NAME\s+SINK\s+READY\s+REASON\s+AGE/);
    expect(listed.stdout).toMatch(new RegExp(`heartbeat\\s+http://127\\.0\\.0\\.1:${wisp.ports.broker}/default/default\\s+True`));
    // The process's output is in the platform log, prefixed with the source, and behind `wisp logs containersource`.
    expect(wisp.output).toMatch(/containersource default\/heartbeat stdout: heartbeat \d+: 202/);
    const logs = await wisp.cli(['logs', 'containersource', 'heartbeat']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/^\[heartbeat-\d+\/heartbeat-\d+-\d+\] heartbeat: sending to http:\/\/127\.0\.0\.1:\d+\/default\/default every 1000 ms$/m);
    expect(logs.stdout).toMatch(/\] heartbeat 1: 202$/m);
    const missing = await wisp.cli(['logs', 'containersource', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope');
    const wrongKind = await wisp.cli(['logs', 'pingsource', 'heartbeat']);
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toContain('"pingsource" has no logs');

    const pids = await waitFor(async () => {
      const p = await recordedPids(wisp.stateDir);
      return p.length === 1 ? p : undefined;
    }, { what: 'the recorded pid' });
    const pid = pids[0] ?? 0;
    expect(alive(pid)).toBe(true);

    const deleted = await wisp.cli(['delete', 'containersource', 'heartbeat']);
    expect(deleted.code, deleted.stderr).toBe(0);
    await waitFor(() => !alive(pid), { what: `heartbeat pid ${pid} gone` });
    await waitFor(() => wisp.output.includes('heartbeat: stopped after'), { what: 'clean SIGTERM exit logged' });
    const count = sub.requests.length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(sub.requests.length).toBeLessThanOrEqual(count + 1); // at most one already on the wire
  }, 60_000);

  it('an image-only container is accepted but not Ready (ImageNotRunnableLocally); two containers are rejected', async () => {
    const source = (containers: string): string => `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: imageonly, namespace: default}
spec:
  template:
    spec:
      containers:
${containers}
  sink: {uri: ${sub.url}}`;
    const image = await wisp.cli(['apply', '-f', await yamlFile(source('        - image: gcr.io/knative-releases/heartbeats'))]);
    expect(image.code, image.stderr).toBe(0);
    await waitFor(async () => /imageonly\s+\S+\s+False\s+ImageNotRunnableLocally/.test((await wisp.cli(['get', 'containersources'])).stdout), {
      what: 'ImageNotRunnableLocally',
    });
    const json = JSON.parse((await wisp.cli(['get', 'containersource', 'imageonly', '-o', 'json'])).stdout) as {
      status: { conditions: { type: string; status: string; message?: string }[] };
    };
    expect(json.status.conditions.find((c) => c.type === 'Deployed')?.message).toContain('add command');

    const two = await wisp.cli(['apply', '-f', await yamlFile(source('        - {command: [node, a.js]}\n        - {command: [node, b.js]}'))]);
    expect(two.code).toBe(1);
    expect(two.stderr).toContain('spec.template.spec.containers: expected exactly one container, got 2');
    expect((await wisp.cli(['delete', 'containersource', 'imageonly'])).code).toBe(0);
  }, 30_000);

  it('after a SIGKILLed platform, the next start reaps the orphaned process and runs a new one; SIGTERM stops it', async () => {
    const yaml = `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: direct, namespace: default}
spec:
  template:
    spec:
      containers:
        - command: [node, heartbeat.js]
          workingDir: ${join(ROOT, 'examples/heartbeat')}
          env: [{name: PERIOD_MS, value: "200"}]
  sink: {uri: ${sub.url}/direct}`;
    expect((await wisp.cli(['apply', '-f', await yamlFile(yaml)])).code).toBe(0);
    await waitFor(() => sub.requests.some((r) => r.path === '/direct'), { what: 'a direct heartbeat' });
    const direct = sub.requests.find((r) => r.path === '/direct');
    expect(direct?.headers['ce-origin']).toBeUndefined();
    const [orphan = 0] = await waitFor(async () => {
      const p = await recordedPids(wisp.stateDir);
      return p.length === 1 ? p : undefined;
    }, { what: 'the recorded pid' });

    await wisp.stop('SIGKILL');
    expect(alive(orphan)).toBe(true); // SIGKILL leaves the process behind...
    await wisp.start();
    await waitFor(() => !alive(orphan), { what: 'the orphan reaped' }); // ...and the next start reaps it (SIGKILL lands a moment later).
    const [fresh = 0] = await waitFor(async () => {
      const p = await recordedPids(wisp.stateDir);
      return p.length === 1 && p[0] !== orphan ? p : undefined;
    }, { what: 'a new process from the stored source' });
    const before = sub.requests.filter((r) => r.path === '/direct').length;
    await waitFor(() => sub.requests.filter((r) => r.path === '/direct').length > before, { what: 'heartbeats again' });

    expect(await wisp.stop()).toBe(0);
    expect(alive(fresh)).toBe(false);
  }, 60_000);
});
