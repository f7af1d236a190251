import { describe, expect, it } from 'vitest';
import { apiServerSourceErrors } from '../../../src/api/apiserversource.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { KObject } from '../../../src/api/types.js';
import type { WatchEvent } from '../../../src/control/store.js';
import { eventFor, type ApiServerWatchSpec } from '../../../src/importers/apiserver/index.js';

const SERVICES = kindByName('ksvc') as KindInfo;
const NOW = Date.UTC(2026, 0, 1, 12);

const svc = (labels?: Record<string, string>, namespace = 'default'): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace, ...(labels ? { labels } : {}) },
  spec: { template: { spec: { containers: [{ image: 'x' }] } } },
});

const spec = (selector?: Record<string, string>): ApiServerWatchSpec => ({
  namespace: 'default',
  resources: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', ...(selector ? { selector: { matchLabels: selector } } : {}) }],
  sourceUri: 'http://127.0.0.1:8090',
  extensions: { origin: 'wisp' },
});

const watch = (type: WatchEvent['type'], object: KObject): WatchEvent => ({ type, object, kind: SERVICES });

describe('eventFor', () => {
  const cases = [
    ['ADDED', 'add'],
    ['MODIFIED', 'update'],
    ['DELETED', 'delete'],
  ] as const;

  for (const [type, verb] of cases) {
    it(`Reference mode, ${type} → dev.knative.apiserver.ref.${verb} with a reference as data`, () => {
      const e = eventFor(spec(), watch(type, svc()), 'Reference', 'id-1', NOW);
      expect(e).toBeDefined();
      expect(e?.type).toBe(`dev.knative.apiserver.ref.${verb}`);
      expect(e?.source).toBe('http://127.0.0.1:8090');
      expect(e?.subject).toBe('/apis/serving.knative.dev/v1/namespaces/default/services/hello');
      expect(e?.id).toBe('id-1');
      expect(e?.time).toBe(new Date(NOW).toISOString());
      expect(e?.data).toEqual({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello', namespace: 'default' });
      expect(e?.['kind']).toBe('Service');
      expect(e?.['apiversion']).toBe('serving.knative.dev/v1');
      expect(e?.['name']).toBe('hello');
      expect(e?.['namespace']).toBe('default');
      expect(e?.['origin']).toBe('wisp');
    });

    it(`Resource mode, ${type} → dev.knative.apiserver.resource.${verb} with the object as data`, () => {
      const obj = svc();
      const e = eventFor(spec(), watch(type, obj), 'Resource', 'id-2', NOW);
      expect(e?.type).toBe(`dev.knative.apiserver.resource.${verb}`);
      expect(e?.datacontenttype).toBe('application/json');
      expect(e?.data).toEqual(obj);
    });
  }

  it('only objects whose labels match the selector', () => {
    const s = spec({ app: 'shop' });
    expect(eventFor(s, watch('ADDED', svc({ app: 'shop', tier: 'web' })), 'Reference', 'a', NOW)?.type).toBe('dev.knative.apiserver.ref.add');
    expect(eventFor(s, watch('ADDED', svc({ app: 'blog' })), 'Reference', 'b', NOW)).toBeUndefined();
    expect(eventFor(s, watch('ADDED', svc()), 'Reference', 'c', NOW)).toBeUndefined();
  });

  it('matchExpressions and owner (the controller ownerReference) filter embedded too', () => {
    const s: ApiServerWatchSpec = {
      ...spec(),
      resources: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] } }],
    };
    expect(eventFor(s, watch('ADDED', svc({ tier: 'web' })), 'Reference', 'a', NOW)).toBeDefined();
    expect(eventFor(s, watch('ADDED', svc({ tier: 'db' })), 'Reference', 'b', NOW)).toBeUndefined();
    const owned = (kind: string): KObject => ({ ...svc(), metadata: { ...svc().metadata, ownerReferences: [{ apiVersion: 'example.com/v1', kind, name: 'o', controller: true }] } });
    const withOwner: ApiServerWatchSpec = { ...spec(), owner: { apiVersion: 'example.com/v1', kind: 'App' } };
    expect(eventFor(withOwner, watch('ADDED', owned('App')), 'Reference', 'c', NOW)).toBeDefined();
    expect(eventFor(withOwner, watch('ADDED', owned('Other')), 'Reference', 'd', NOW)).toBeUndefined();
    expect(eventFor(withOwner, watch('ADDED', svc()), 'Reference', 'e', NOW)).toBeUndefined();
  });

  it("only objects in the source's own namespace and of a watched kind", () => {
    expect(eventFor(spec(), watch('ADDED', svc(undefined, 'other')), 'Reference', 'a', NOW)).toBeUndefined();
    const broker: KObject = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b', namespace: 'default' } };
    expect(eventFor(spec(), { type: 'ADDED', object: broker, kind: kindByName('brokers') as KindInfo }, 'Reference', 'a', NOW)).toBeUndefined();
  });
});

describe('apiServerSourceErrors', () => {
  const source = (s: Record<string, unknown>): KObject => ({
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    metadata: { name: 'watch', namespace: 'default' },
    spec: { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }], sink: { uri: 'http://example.com/' }, ...s },
  });

  it('accepts a valid source', () => {
    expect(apiServerSourceErrors(source({ mode: 'Resource', ceOverrides: { extensions: { team: 'a' } } }))).toEqual([]);
  });

  it('requires a non-empty resources list of known kinds', () => {
    expect(apiServerSourceErrors(source({ resources: [] }))).toEqual([{ field: 'spec.resources', message: 'missing field(s): want at least one resource' }]);
    expect(apiServerSourceErrors(source({ resources: [{ apiVersion: 'x/v1', kind: 'Foo' }] }))).toEqual([
      { field: 'spec.resources[0]', message: 'unknown kind "Foo" in "x/v1"' },
    ]);
    expect(apiServerSourceErrors(source({ resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }, { kind: 'Service' }] }))).toEqual([
      { field: 'spec.resources[1]', message: 'missing field(s): apiVersion' },
    ]);
  });

  it('checks the label selectors (resources and namespaceSelector) as Kubernetes does', () => {
    expect(apiServerSourceErrors(source({ resources: [{ apiVersion: 'v1', kind: 'ConfigMap', selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }] }))).toEqual([
      { field: 'spec.resources[0].selector.matchExpressions[0].values', message: 'must be non-empty for operator In' },
    ]);
    expect(apiServerSourceErrors(source({ namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }))).toEqual([
      { field: 'spec.namespaceSelector.matchExpressions[0].operator', message: 'invalid value "Near": want one of In, NotIn, Exists, DoesNotExist' },
    ]);
    expect(apiServerSourceErrors(source({ owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet' }, namespaceSelector: { matchLabels: { env: 'test' } } }))).toEqual([]);
  });

  it('rejects an unknown mode, a missing sink and bad extension names', () => {
    expect(apiServerSourceErrors(source({ mode: 'Everything' }))).toEqual([{ field: 'spec.mode', message: 'invalid value "Everything": want "Reference" or "Resource"' }]);
    expect(apiServerSourceErrors(source({ sink: undefined }))).toEqual([{ field: 'spec.sink', message: 'missing field(s)' }]);
    expect(apiServerSourceErrors(source({ ceOverrides: { extensions: { 'Bad-Name': 'x', type: 'y' } } }))).toEqual([
      { field: 'spec.ceOverrides.extensions[Bad-Name]', message: 'invalid CloudEvents attribute name: want 1-20 lower-case letters or digits' },
      { field: 'spec.ceOverrides.extensions[type]', message: 'cannot override the CloudEvents context attribute "type"' },
    ]);
  });
});
