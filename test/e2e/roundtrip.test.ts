/**
 * `wisp get ... -o yaml|json | wisp apply -f -` changes nothing, for every kind the quickstart and the examples
 * create: each object answers `unchanged`, a `kind: List` is applied item by item, and no Revision is cut — even
 * from another folder than the one the manifests came from (the carried wisp.dev/source-dir is kept).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, WispProcess } from '../support/wisp.js';
import { waitFor } from '../support/wait.js';
import { getJson, revPath, waitReady, yamlFile } from './helpers.js';

const EXAMPLES = ['quickstart', 'ping', 'apiserver', 'heartbeat', 'sinkbinding', 'kafka'].map((e) => join(ROOT, 'examples', e));

const CONFIG_AUTOSCALER = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  container-concurrency-target-default: "50"
`;

/** kind, name, namespace, what `apply` prints for it */
const OBJECTS: [string, string, string, string][] = [
  ['ksvc', 'hello', 'default', 'service.serving.knative.dev/hello'],
  ['ksvc', 'event-display', 'default', 'service.serving.knative.dev/event-display'],
  ['ksvc', 'publisher', 'default', 'service.serving.knative.dev/publisher'],
  ['broker', 'default', 'default', 'broker.eventing.knative.dev/default'],
  ['trigger', 'orders', 'default', 'trigger.eventing.knative.dev/orders'],
  ['pingsource', 'heartbeat', 'default', 'pingsource.sources.knative.dev/heartbeat'],
  ['apiserversource', 'service-changes', 'default', 'apiserversource.sources.knative.dev/service-changes'],
  ['containersource', 'heartbeat', 'default', 'containersource.sources.knative.dev/heartbeat'],
  ['sinkbinding', 'bind-publisher', 'default', 'sinkbinding.sources.knative.dev/bind-publisher'],
  ['kafkasource', 'orders', 'default', 'kafkasource.sources.knative.dev/orders'],
  ['configmap', 'config-autoscaler', 'knative-serving', 'configmap/config-autoscaler'],
];

interface Listed {
  items: { metadata: { name: string; namespace: string; generation?: number; resourceVersion?: string } }[];
}

describe('get -o yaml|json | apply -f - round trip (e2e)', () => {
  let wisp: WispProcess;
  let elsewhere: string;
  let before: string[];

  /** Names and generations of every user object and every Revision: what a round trip must leave alone. */
  async function snapshot(): Promise<string[]> {
    const out: string[] = [];
    for (const kind of [...new Set(OBJECTS.map(([k]) => k)), 'revisions']) {
      const res = await wisp.cli(['get', kind, '-A', '-o', 'json']);
      expect(res.code, res.stderr).toBe(0);
      for (const i of (JSON.parse(res.stdout) as Listed).items) out.push(`${kind} ${i.metadata.namespace}/${i.metadata.name} generation ${i.metadata.generation}`);
    }
    return out.sort();
  }

  beforeAll(async () => {
    elsewhere = await mkdtemp(join(tmpdir(), 'wisp-roundtrip-cwd-'));
    wisp = await WispProcess.create();
    await wisp.start([...EXAMPLES, await yamlFile(CONFIG_AUTOSCALER)]);
    await waitReady(wisp, 'hello', 30_000);
    // Settled: the SinkBinding has rolled publisher a revision with K_SINK (its own doing, not the round trip's).
    await waitFor(
      async () => {
        const svc = await waitReady(wisp, 'publisher', 30_000);
        const rev = (await getJson(wisp, revPath(svc.status?.latestReadyRevisionName ?? ''))) as { spec?: { containers?: { env?: { name: string }[] }[] } };
        return svc.status?.latestReadyRevisionName === svc.status?.latestCreatedRevisionName && rev.spec?.containers?.[0]?.env?.some((e) => e.name === 'K_SINK');
      },
      { timeoutMs: 30_000, what: 'publisher bound to its sink' },
    );
    before = await snapshot();
    expect(before.filter((l) => l.startsWith('revisions ')).map((l) => l.replace(/-\d+ generation \d+$/, ''))).toEqual([
      'revisions default/event-display',
      'revisions default/hello',
      ...before.filter((l) => l.startsWith('revisions default/publisher')).map(() => 'revisions default/publisher'),
    ]);
  }, 90_000);
  afterAll(async () => {
    await wisp?.cleanup();
    await rm(elsewhere, { recursive: true, force: true });
  });

  it.each(['yaml', 'json'])('each object through -o %s answers unchanged, applied from another folder', async (format) => {
    for (const [kind, name, ns, ref] of OBJECTS) {
      const got = await wisp.cli(['get', kind, name, '-n', ns, '-o', format]);
      expect(got.code, got.stderr).toBe(0);
      const applied = await wisp.cli(['apply', '-f', '-'], { stdin: got.stdout, cwd: elsewhere });
      expect({ ...applied, what: `${kind} ${name}` }).toEqual({ code: 0, stdout: `${ref} unchanged\n`, stderr: '', what: `${kind} ${name}` });
    }
    expect(await snapshot()).toEqual(before);
  }, 90_000);

  it.each(['yaml', 'json'])('a kind: List from get KIND -o %s is applied item by item, every one unchanged', async (format) => {
    for (const kind of [...new Set(OBJECTS.map(([k]) => k))]) {
      const got = await wisp.cli(['get', kind, '-A', '-o', format]);
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toMatch(format === 'yaml' ? /^apiVersion: v1\nkind: List\n/ : /"kind": "List"/);
      const applied = await wisp.cli(['apply', '-f', '-'], { stdin: got.stdout, cwd: elsewhere });
      const ref = OBJECTS.find(([k]) => k === kind)?.[3] ?? '';
      const names = (JSON.parse((await wisp.cli(['get', kind, '-A', '-o', 'json'])).stdout) as Listed).items.map((i) => i.metadata.name);
      const expected = names.map((n) => `${ref.slice(0, ref.indexOf('/'))}/${n} unchanged`).sort();
      expect(expected.length).toBeGreaterThan(0);
      expect({ code: applied.code, lines: applied.stdout.trim().split('\n').sort(), stderr: applied.stderr }).toEqual({ code: 0, lines: expected, stderr: '' });
    }
    expect(await snapshot()).toEqual(before);
  }, 90_000);

  it('hello still answers from its first revision', async () => {
    const svc = await waitReady(wisp, 'hello');
    expect(svc.status?.latestCreatedRevisionName).toBe('hello-00001');
    expect(svc.status?.latestReadyRevisionName).toBe('hello-00001');
  });
});
