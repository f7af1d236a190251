import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_FILE_HEADER, crdFiles, crdKinds, crdName, crds, toStructural, type CrdSchema, type CustomResourceDefinition } from '../../../src/api/crd.js';
import { KINDS } from '../../../src/api/kinds.js';
import { validate } from '../../../src/api/validate.js';

const CRD_DIR = new URL('../../../manifests/crds/', import.meta.url);
const PRESERVE = 'x-kubernetes-preserve-unknown-fields';

function schemaOf(crd: CustomResourceDefinition): CrdSchema {
  const v = crd.spec.versions[0];
  if (!v) throw new Error(`${crd.metadata.name} has no version`);
  return v.schema.openAPIV3Schema;
}

function crdOf(kind: string): CustomResourceDefinition {
  const found = crds().find((c) => c.spec.names.kind === kind);
  if (!found) throw new Error(`no CRD for ${kind}`);
  return found;
}

/** Every node of a schema with its path (`spec.traffic[].percent`). */
function* nodes(schema: CrdSchema, path = ''): Generator<[string, CrdSchema]> {
  yield [path, schema];
  for (const [k, v] of Object.entries(schema.properties ?? {})) yield* nodes(v, path ? `${path}.${k}` : k);
  if (schema.additionalProperties) yield* nodes(schema.additionalProperties, `${path}{}`);
  if (schema.items) yield* nodes(schema.items, `${path}[]`);
}

function at(schema: CrdSchema, path: string): CrdSchema | undefined {
  return [...nodes(schema)].find(([p]) => p === path)?.[1];
}

describe('CRDs generated from the Wisp schemas', () => {
  it('manifests/crds/ holds exactly what src/api/crd.ts generates (run `npm run crds` after changing a schema)', () => {
    const onDisk = readdirSync(CRD_DIR).filter((n) => n.endsWith('.yaml')).sort();
    const generated = crdFiles();
    expect(onDisk).toEqual(generated.map((f) => f.name).sort());
    for (const f of generated) {
      const text = readFileSync(new URL(f.name, CRD_DIR), 'utf8');
      expect(text.startsWith(`${CRD_FILE_HEADER}\n`), f.name).toBe(true);
      expect(text, `manifests/crds/${f.name} differs from the generator: run \`npm run crds\``).toBe(f.text);
    }
  });

  it('each file parses back to its CRD, jsonPaths and quoted label values included', () => {
    for (const crd of crds()) {
      const text = readFileSync(new URL(`${crd.metadata.name}.yaml`, CRD_DIR), 'utf8');
      expect(parse(text)).toEqual(crd);
    }
  });

  it('every kind of an API group has one CRD with its names; the core group (ConfigMap) has none', () => {
    const all = crds();
    const served = KINDS.filter((k) => k.group !== '');
    expect(all.map((c) => c.metadata.name)).toEqual(served.map(crdName));
    expect(crdKinds()).toEqual(served);
    for (const info of served) {
      const crd = all.find((c) => c.metadata.name === `${info.plural}.${info.group}`);
      expect(crd?.spec.group).toBe(info.group);
      expect(crd?.spec.scope).toBe('Namespaced');
      expect(crd?.spec.names).toMatchObject({ kind: info.kind, plural: info.plural, singular: info.singular });
      expect(crd?.spec.names.shortNames ?? []).toEqual(info.shortNames);
      expect(crd?.spec.versions).toHaveLength(1);
      expect(crd?.spec.versions[0]).toMatchObject({ name: info.version, served: true, storage: true, subresources: { status: {} } });
    }
    expect(all.some((c) => c.spec.names.kind === 'ConfigMap')).toBe(false);
    expect(crdOf('Service').spec.names.shortNames).toEqual(['ksvc', 'kservice']);
    expect(crdOf('KafkaSource').spec.versions[0]?.name).toBe('v1beta1');
  });

  it('schemas are structural: every node typed or preserving unknown fields, never properties beside additionalProperties', () => {
    for (const crd of crds()) {
      for (const [path, node] of nodes(schemaOf(crd))) {
        const where = `${crd.metadata.name} ${path || '<root>'}`;
        expect(node.type !== undefined || node[PRESERVE] === true, `${where}: no type`).toBe(true);
        expect(node.properties !== undefined && node.additionalProperties !== undefined, `${where}: properties and additionalProperties`).toBe(false);
        if (node.type === 'array') expect(node.items, `${where}: array without items`).toBeDefined();
        if (node.minimum !== undefined || node.maximum !== undefined) expect(['integer', 'number']).toContain(node.type);
      }
    }
  });

  it('leaves metadata to the API server and keeps whatever the controller writes into status', () => {
    for (const crd of crds()) {
      const root = schemaOf(crd);
      expect(root.type).toBe('object');
      expect(root.properties?.['metadata']).toEqual({ type: 'object' });
      expect(root.properties?.['status']).toEqual({ type: 'object', [PRESERVE]: true });
      expect(root.properties?.['spec']?.type).toBe('object');
      expect(root.required ?? []).not.toContain('metadata');
    }
  });

  it('maps any-value spots to preserve-unknown-fields and string maps to additionalProperties', () => {
    expect(
      toStructural({
        type: 'object',
        properties: { a: { anyValue: true }, b: { type: 'object', additionalProperties: true }, c: { type: 'object', additionalProperties: { type: 'string' } }, d: { type: 'object' } },
      }),
    ).toEqual({
      type: 'object',
      properties: { a: { [PRESERVE]: true }, b: { type: 'object', [PRESERVE]: true }, c: { type: 'object', additionalProperties: { type: 'string' } }, d: { type: 'object', [PRESERVE]: true } },
    });
    const svc = schemaOf(crdOf('Service'));
    expect(at(svc, 'spec.template.spec.volumes')).toEqual({ [PRESERVE]: true });
    expect(at(svc, 'spec.template.spec.containers[].resources')).toEqual({ type: 'object', [PRESERVE]: true });
    expect(at(svc, 'spec.template.metadata.annotations')).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(at(svc, 'spec.template.spec.containers[].env[]')?.required).toEqual(['name']);
    expect(svc.required).toEqual(['spec']);
    // Unknown fields of a typed object are pruned (refused under --validate=strict), as Wisp warns about them.
    expect(at(svc, 'spec.template.spec')?.[PRESERVE]).toBeUndefined();
  });

  it('puts the plain bounds of the semantic checks into the schema', () => {
    const svc = schemaOf(crdOf('Service'));
    // No maximum: config-defaults' limits (container-concurrency-max-limit, max-revision-timeout-seconds) may change.
    expect(at(svc, 'spec.template.spec.containerConcurrency')).toEqual({ type: 'integer', minimum: 0 });
    expect(at(svc, 'spec.template.spec.timeoutSeconds')).toEqual({ type: 'integer', minimum: 0 });
    expect(at(svc, 'spec.traffic[].percent')).toEqual({ type: 'integer', minimum: 0, maximum: 100 });
    // The platform-owned kinds carry the same spec shapes (their objects are built from the Service).
    const template = at(svc, 'spec.template');
    expect(at(schemaOf(crdOf('Configuration')), 'spec.template')).toEqual(template);
    expect(at(schemaOf(crdOf('Revision')), 'spec')).toEqual(at(svc, 'spec.template.spec'));
    expect(at(schemaOf(crdOf('Route')), 'spec.traffic')).toEqual(at(svc, 'spec.traffic'));
    expect(at(schemaOf(crdOf('KafkaSource')), 'spec.consumers')).toEqual({ type: 'integer', minimum: 1 });
  });

  describe('every bound and enum of a CRD agrees with validate(): refused just outside, accepted at the edge', () => {
    const samples: Record<string, () => Record<string, unknown>> = {
      Service: () => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } } }),
      ContainerSource: () => ({
        apiVersion: 'sources.knative.dev/v1',
        kind: 'ContainerSource',
        metadata: { name: 'cs' },
        spec: { template: { spec: { containers: [{ command: ['node', 'x.js'] }] } }, sink: { uri: 'http://example.com' } },
      }),
      KafkaSource: () => ({
        apiVersion: 'sources.knative.dev/v1beta1',
        kind: 'KafkaSource',
        metadata: { name: 'ks' },
        spec: { bootstrapServers: ['localhost:9092'], topics: ['t'], sink: { uri: 'http://example.com' } },
      }),
      ApiServerSource: () => ({
        apiVersion: 'sources.knative.dev/v1',
        kind: 'ApiServerSource',
        metadata: { name: 'as' },
        spec: { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }], sink: { uri: 'http://example.com' } },
      }),
    };

    /** Sets `value` at a CRD path in `obj`, creating objects and one-item arrays on the way; returns validate()'s field path. */
    function setAt(obj: Record<string, unknown>, path: string, value: unknown): string {
      let node: Record<string, unknown> = obj;
      const parts = path.split('.');
      const field: string[] = [];
      parts.forEach((raw, i) => {
        const array = raw.endsWith('[]');
        const key = array ? raw.slice(0, -2) : raw;
        field.push(array ? `${key}[0]` : key);
        if (i === parts.length - 1) {
          node[key] = value;
          return;
        }
        if (array) {
          const list = (node[key] ??= [{}]) as Record<string, unknown>[];
          node = list[0] ?? (list[0] = {});
        } else node = (node[key] ??= {}) as Record<string, unknown>;
      });
      return field.join('.');
    }

    const refusedAt = (kind: string, path: string, value: unknown): boolean => {
      const obj = samples[kind]!();
      const field = setAt(obj, path, value);
      return validate(obj).errors.some((e) => e.field === field);
    };

    for (const kind of Object.keys(samples)) {
      it(kind, () => {
        expect(validate(samples[kind]!()).errors).toEqual([]);
        let checked = 0;
        for (const [path, node] of nodes(schemaOf(crdOf(kind)))) {
          if (node.minimum !== undefined) {
            expect(refusedAt(kind, path, node.minimum - 1), `${path} = minimum - 1`).toBe(true);
            expect(refusedAt(kind, path, node.minimum), `${path} = minimum`).toBe(false);
            checked++;
          }
          if (node.maximum !== undefined) {
            expect(refusedAt(kind, path, node.maximum), `${path} = maximum`).toBe(false);
            expect(refusedAt(kind, path, node.maximum + 1), `${path} = maximum + 1`).toBe(true);
            checked++;
          }
          for (const v of node.enum ?? []) expect(refusedAt(kind, path, v), `${path} = ${String(v)}`).toBe(false);
          if (node.enum) {
            expect(refusedAt(kind, path, 'not-one-of-them'), `${path} outside its enum`).toBe(true);
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(0);
      });
    }
  });

  it('prints the columns of Knative CRDs', () => {
    const columns = (kind: string): string[] => crdOf(kind).spec.versions[0]?.additionalPrinterColumns.map((c) => c.name) ?? [];
    expect(columns('Service')).toEqual(['URL', 'LatestCreated', 'LatestReady', 'Ready', 'Reason']);
    expect(columns('Configuration')).toEqual(['LatestCreated', 'LatestReady', 'Ready', 'Reason']);
    expect(columns('Revision')).toEqual(['Config Name', 'Generation', 'Ready', 'Reason', 'Actual Replicas', 'Desired Replicas']);
    expect(columns('Route')).toEqual(['URL', 'Ready', 'Reason']);
    expect(columns('Broker')).toEqual(['URL', 'Age', 'Ready', 'Reason', 'Class']);
    expect(columns('Trigger')).toEqual(['Broker', 'Subscriber_URI', 'Age', 'Ready', 'Reason']);
    for (const kind of ['ApiServerSource', 'ContainerSource', 'SinkBinding']) expect(columns(kind)).toEqual(['Sink', 'Age', 'Ready', 'Reason']);
    expect(columns('PingSource')).toEqual(['Sink', 'Schedule', 'Age', 'Ready', 'Reason']);
    for (const crd of crds()) {
      for (const c of crd.spec.versions[0]?.additionalPrinterColumns ?? []) expect(c.jsonPath.startsWith('.'), `${crd.metadata.name} ${c.name}`).toBe(true);
      expect(crd.spec.names.categories.slice(0, 2)).toEqual(['all', 'knative']);
    }
    expect(crdOf('Service').spec.names.categories).toEqual(['all', 'knative', 'serving']);
    expect(crdOf('Trigger').spec.names.categories).toEqual(['all', 'knative', 'eventing']);
    expect(crdOf('PingSource').spec.names.categories).toEqual(['all', 'knative', 'sources']);
    expect(crdOf('Service').metadata.labels).toMatchObject({ 'duck.knative.dev/addressable': 'true' });
    expect(crdOf('Broker').metadata.labels).toMatchObject({ 'duck.knative.dev/addressable': 'true' });
    expect(crdOf('PingSource').metadata.labels).toMatchObject({ 'duck.knative.dev/source': 'true' });
  });
});
