/**
 * The generated CRDs (manifests/crds/) against a real kube-apiserver: they are accepted and become Established, and
 * the API server itself then refuses what Wisp's schemas refuse (an out-of-bounds containerConcurrency, a misspelled
 * field under --validate=strict), accepts every example as it is, and prints Knative's columns. CRDs are
 * cluster-scoped and shared with other test files, so this file applies them (idempotently) and never deletes them;
 * its objects live in a namespace of its own.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { crds } from '../../src/api/crd.js';
import { validate } from '../../src/api/validate.js';
import { kubectl, type KubectlResult } from '../support/k8s/index.js';

const CRD_DIR = fileURLToPath(new URL('../../manifests/crds/', import.meta.url));
const NAMES = crds().map((c) => c.metadata.name);
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Every object of examples/<dir>/*.yaml with a CRD of its own (ConfigMaps are Kubernetes' own), with the file it came from. */
function exampleObjects(): { file: string; obj: Record<string, unknown> & { metadata: Record<string, unknown> } }[] {
  const served = new Set(crds().map((c) => `${c.spec.group}/${c.spec.names.kind}`));
  const out: ReturnType<typeof exampleObjects> = [];
  for (const dir of readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const name of readdirSync(join(EXAMPLES, dir.name)).filter((n) => n.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(join(EXAMPLES, dir.name, name), 'utf8'))) {
        const obj = doc.toJS() as (Record<string, unknown> & { apiVersion?: string; kind?: string; metadata: Record<string, unknown> }) | null;
        if (!obj?.apiVersion || !served.has(`${obj.apiVersion.split('/')[0]}/${obj.kind ?? ''}`)) continue;
        out.push({ file: `${dir.name}/${name}`, obj });
      }
    }
  }
  return out;
}

const output = (r: KubectlResult): string => `${r.stdout}\n${r.stderr}`;

/** `kubectl apply -f manifests/crds/`. Another test file applying them at the same moment can win the create: apply again then. */
async function applyCrds(): Promise<KubectlResult> {
  let r = await kubectl(['apply', '-f', CRD_DIR]);
  for (let i = 0; i < 3 && r.code !== 0 && /AlreadyExists|the object has been modified/.test(output(r)); i++) r = await kubectl(['apply', '-f', CRD_DIR]);
  return r;
}

function ksvc(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name }, spec: { template: { spec } } });
}

describe('CRDs on a real API server', () => {
  const ns = `crds-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const applied = await applyCrds();
    expect(applied.code, output(applied)).toBe(0);
    const created = await kubectl(['create', 'namespace', ns]);
    expect(created.code, output(created)).toBe(0);
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  });

  it('kubectl apply -f manifests/crds/ is accepted (again: applying is idempotent) and every CRD becomes Established', async () => {
    const again = await applyCrds();
    expect(again.code, output(again)).toBe(0);
    for (const name of NAMES) expect(again.stdout).toContain(`customresourcedefinition.apiextensions.k8s.io/${name}`);
    const waited = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...NAMES.map((n) => `crd/${n}`)]);
    expect(waited.code, output(waited)).toBe(0);
    for (const name of NAMES) expect(waited.stdout).toContain(`customresourcedefinition.apiextensions.k8s.io/${name} condition met`);
  });

  it('the Service CRD carries its short names and categories', async () => {
    const r = await kubectl(['get', 'crd', 'services.serving.knative.dev', '-o', 'json']);
    expect(r.code, output(r)).toBe(0);
    const crd = JSON.parse(r.stdout) as { spec: { names: { shortNames?: string[]; categories?: string[] } }; status: { acceptedNames: { shortNames?: string[] } } };
    expect(crd.spec.names.shortNames).toEqual(['ksvc', 'kservice']);
    expect(crd.spec.names.categories).toEqual(['all', 'knative', 'serving']);
    // The API server accepted the names (a clash with another CRD would leave them out of acceptedNames).
    expect(crd.status.acceptedNames.shortNames).toEqual(['ksvc', 'kservice']);
  });

  describe('in a namespace of its own', () => {
    beforeAll(async () => {
      const waited = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...NAMES.map((n) => `crd/${n}`)]);
      expect(waited.code, output(waited)).toBe(0);
    });

    it('refuses containerConcurrency: -1, naming the field', async () => {
      const r = await kubectl(['apply', '-n', ns, '-f', '-'], { input: ksvc('bad-cc', { containerConcurrency: -1, containers: [{ image: 'ghcr.io/knative/helloworld-go' }] }) });
      expect(r.code).not.toBe(0);
      expect(output(r)).toContain('spec.template.spec.containerConcurrency');
      expect(output(r)).toMatch(/greater than or equal to 0/);
      const get = await kubectl(['get', 'ksvc', 'bad-cc', '-n', ns, '--ignore-not-found', '-o', 'name']);
      expect(get.stdout.trim()).toBe('');
    });

    it('accepts containerConcurrency: 1001 (config-defaults\' container-concurrency-max-limit bounds it, which a schema cannot follow) and refuses a traffic percent over 100', async () => {
      const cc = await kubectl(['apply', '-n', ns, '-f', '-'], { input: ksvc('big-cc', { containerConcurrency: 1001, containers: [{ image: 'x' }] }) });
      expect(cc.code, output(cc)).toBe(0);
      expect((await kubectl(['delete', 'ksvc', 'big-cc', '-n', ns])).code).toBe(0);
      const traffic = JSON.stringify({
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'big-percent' },
        spec: { template: { spec: { containers: [{ image: 'x' }] } }, traffic: [{ latestRevision: true, percent: 101 }] },
      });
      const pct = await kubectl(['apply', '-n', ns, '-f', '-'], { input: traffic });
      expect(pct.code).not.toBe(0);
      expect(output(pct)).toMatch(/spec\.traffic\[0\]\.percent/);
    });

    it('refuses a misspelled field under --validate=strict, naming it', async () => {
      const r = await kubectl(['apply', '--validate=strict', '-n', ns, '-f', '-'], {
        input: ksvc('typo', { containerConcurency: 10, containers: [{ image: 'ghcr.io/knative/helloworld-go' }] }),
      });
      expect(r.code).not.toBe(0);
      expect(output(r)).toContain('containerConcurency');
      expect(output(r)).toMatch(/unknown field|field not declared in schema/);
    });

    it('accepts every object of examples/ under --validate=strict, as validate() does (no field pruned or unknown)', async () => {
      const examples = exampleObjects();
      expect(new Set(examples.map((e) => e.obj['kind'])).size).toBeGreaterThanOrEqual(8);
      for (const { file, obj } of examples) {
        const own = validate(obj);
        expect(own.errors, file).toEqual([]);
        expect(own.warnings, file).toEqual([]);
        const inNs = { ...obj, metadata: { ...obj.metadata, namespace: ns } };
        const r = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-o', 'json', '-f', '-'], { input: JSON.stringify(inNs) });
        expect(r.code, `${file} ${String(obj['kind'])}: ${output(r)}`).toBe(0);
        // What the API server would store is what was sent: pruning removed nothing from the spec.
        expect((JSON.parse(r.stdout) as { spec?: unknown }).spec, file).toEqual(obj['spec']);
      }
    });

    it('accepts the Knative hello Service and lists it with the columns of `kubectl get ksvc`', async () => {
      const hello = ksvc('hello', { containers: [{ image: 'ghcr.io/knative/helloworld-go:latest', env: [{ name: 'TARGET', value: 'World' }], ports: [{ containerPort: 8080 }] }] });
      const r = await kubectl(['apply', '--validate=strict', '-n', ns, '-f', '-'], { input: hello });
      expect(r.code, output(r)).toBe(0);
      expect(r.stdout).toContain('service.serving.knative.dev/hello created');

      const got = await kubectl(['get', 'ksvc', 'hello', '-n', ns, '-o', 'json']);
      expect(got.code, output(got)).toBe(0);
      const obj = JSON.parse(got.stdout) as { spec: { template: { spec: { containers: { image: string; env: unknown; ports: unknown }[] } } } };
      expect(obj.spec.template.spec.containers[0]).toMatchObject({ image: 'ghcr.io/knative/helloworld-go:latest', env: [{ name: 'TARGET', value: 'World' }], ports: [{ containerPort: 8080 }] });

      const table = await kubectl(['get', 'ksvc', '-n', ns]);
      expect(table.code, output(table)).toBe(0);
      const [header, row] = table.stdout.trim().split('\n');
      expect(header?.trim().split(/\s+/)).toEqual(['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']);
      expect(row?.trim().split(/\s+/)[0]).toBe('hello');
    });
  });
});
