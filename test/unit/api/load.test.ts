import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestError } from '../../../src/api/errors.js';
import { loadManifests } from '../../../src/api/load.js';
import { SOURCE_DIR_ANNOTATION } from '../../../src/api/types.js';

const svc = (name: string): string => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - command: [node, server.js]
`;

describe('loadManifests', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wisp-load-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads multi-document files, defaults the namespace and records the source folder', async () => {
    const file = join(dir, 'app.yaml');
    await writeFile(file, `${svc('a')}---\n${svc('b').replace('metadata:\n', 'metadata:\n  namespace: prod\n')}---\n`);
    const { objects } = await loadManifests([file]);
    expect(objects.map((o) => [o.object.metadata.namespace, o.object.metadata.name, o.source])).toEqual([
      ['default', 'a', `${file}#0`],
      ['prod', 'b', `${file}#1`],
    ]);
    expect(objects[0]?.object.metadata.annotations?.[SOURCE_DIR_ANNOTATION]).toBe(dir);
  });

  it('walks folders recursively in sorted order, taking yaml, yml and json only', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'b.yaml'), svc('b'));
    await writeFile(join(dir, 'a.yml'), svc('a'));
    await writeFile(join(dir, 'sub', 'c.json'), JSON.stringify({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'c' } }));
    await writeFile(join(dir, 'README.md'), '# not a manifest');
    const { objects } = await loadManifests([dir]);
    expect(objects.map((o) => o.object.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(objects[2]?.object.metadata.annotations?.[SOURCE_DIR_ANNOTATION]).toBe(join(dir, 'sub'));
  });

  it('reads `-` from the given stdin text, with the working folder as source', async () => {
    const { objects } = await loadManifests(['-'], { stdin: svc('piped'), cwd: dir });
    expect(objects[0]?.source).toBe('-#0');
    expect(objects[0]?.object.metadata.annotations?.[SOURCE_DIR_ANNOTATION]).toBe(dir);
  });

  it('names file, line and column of a YAML syntax error', async () => {
    await mkdir(join(dir, 'examples'));
    await writeFile(join(dir, 'examples', 'bad.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: [\n');
    const err = await loadManifests(['examples/bad.yaml'], { cwd: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    const m = err as ManifestError;
    expect(m.code).toBe('WISP_ERR_MANIFEST');
    expect(m.message).toMatch(/^examples\/bad\.yaml:\d+:\d+: \S/);
    expect(m.line).toBeGreaterThanOrEqual(4);
    expect(m.message).not.toContain('\n');
  });

  it('rejects documents that are not objects or lack apiVersion, kind or metadata.name, naming the document', async () => {
    const file = join(dir, 'x.yaml');
    await writeFile(file, `${svc('ok')}---\n- just\n- a list\n`);
    await expect(loadManifests([file])).rejects.toThrow(`${file}#1: document is not an object (got a list)`);
    await writeFile(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n');
    await expect(loadManifests([file])).rejects.toThrow(`${file}#0: missing metadata.name`);
  });

  it('rejects unknown kinds with the list of supported kinds', async () => {
    const file = join(dir, 'x.yaml');
    await writeFile(file, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n');
    const err = (await loadManifests([file]).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`${file}#0: unknown kind "Deployment" in apiVersion "apps/v1"; supported kinds:`);
    expect(err.message).toContain('Service (serving.knative.dev/v1)');
    expect(err.message).toContain('KafkaSource (sources.knative.dev/v1beta1)');
  });

  it('reports a missing path', async () => {
    await expect(loadManifests([join(dir, 'nope.yaml')])).rejects.toThrow(/nope\.yaml: cannot read/);
  });
});
