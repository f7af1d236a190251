import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Activator } from '../../../activator/index.js';
import { Autoscaler } from '../../../autoscaler/index.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject, Revision } from '../../../src/api/types.js';
import { ServingReconciler } from '../../../src/control/serving/reconciler.js';
import { Store } from '../../../src/control/store.js';
import { bindsTo, boundEnv, SinkBindingsReconciler, sinkBindingEnvSource } from '../../../src/importers/binding/index.js';
import { LocalRuntime } from '../../../src/runtime/index.js';
import { ManualClock } from '../../support/clock.js';

const kind = (n: string): KindInfo => kindByName(n) as KindInfo;
const SINKBINDINGS = kind('sinkbindings');
const SERVICES = kind('ksvc');
const REVISIONS = kind('revisions');

// An image-only container never spawns on the local runtime: the revision logic runs, no process does.
const service = (name: string, labels?: Record<string, string>, env?: { name: string; value: string }[]): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
  spec: { template: { spec: { containers: [{ image: 'ghcr.io/x/publisher', ...(env ? { env } : {}) }] } } },
});

const binding = (name: string, subject: Record<string, unknown>, sink: Record<string, unknown>, extensions?: Record<string, string>): KObject => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'SinkBinding',
  metadata: { name, namespace: 'default' },
  spec: {
    subject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', ...subject },
    sink,
    ...(extensions ? { ceOverrides: { extensions } } : {}),
  },
});

describe('SinkBinding subject and env (pure)', () => {
  const withStatus = (b: KObject, sinkUri?: string): KObject => ({
    ...b,
    metadata: { ...b.metadata, generation: 1 },
    status: { observedGeneration: 1, ...(sinkUri ? { sinkUri } : {}) },
  });

  it('binds by name, or by label selector with matchLabels and matchExpressions, in its own namespace only', () => {
    const svc = { ...service('pub', { app: 'pub', tier: 'web' }), apiVersion: 'serving.knative.dev/v1' };
    expect(bindsTo(binding('b', { name: 'pub' }, {}), svc)).toBe(true);
    expect(bindsTo(binding('b', { name: 'other' }, {}), svc)).toBe(false);
    expect(bindsTo(binding('b', { selector: { matchLabels: { app: 'pub' } } }, {}), svc)).toBe(true);
    expect(bindsTo(binding('b', { selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] } }, {}), svc)).toBe(true);
    expect(bindsTo(binding('b', { selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] } }, {}), svc)).toBe(false);
    expect(bindsTo(binding('b', { selector: { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] } }, {}), svc)).toBe(true);
    expect(bindsTo(binding('b', { selector: { matchLabels: { app: 'pub' }, matchExpressions: [{ key: 'zone', operator: 'Exists' }] } }, {}), svc)).toBe(false);
    expect(bindsTo(binding('b', { name: 'pub' }, {}), { ...svc, metadata: { ...svc.metadata, namespace: 'prod' } })).toBe(false);
    expect(bindsTo(binding('b', { name: 'pub', kind: 'Revision' }, {}), svc)).toBe(false);
  });

  it('gives K_SINK and K_CE_OVERRIDES (Knative JSON) from a resolved binding; the last binding by name wins', () => {
    const svc = service('pub');
    const a = withStatus(binding('a', { name: 'pub' }, {}, { origin: 'x' }), 'http://a/');
    const b = withStatus(binding('b', { name: 'pub' }, {}), 'http://b/');
    expect(boundEnv(svc, [a])).toEqual({
      settled: true,
      env: [
        { name: 'K_SINK', value: 'http://a/' },
        { name: 'K_CE_OVERRIDES', value: '{"extensions":{"origin":"x"}}' },
      ],
    });
    expect(boundEnv(svc, [b, a]).env).toEqual([{ name: 'K_SINK', value: 'http://b/' }]);
  });

  it('injects nothing for an unresolved sink, and is unsettled while a binding has not been reconciled', () => {
    const svc = service('pub');
    expect(boundEnv(svc, [withStatus(binding('a', { name: 'pub' }, {}))])).toEqual({ env: [], settled: true });
    expect(boundEnv(svc, [{ ...binding('a', { name: 'pub' }, {}), metadata: { name: 'a', namespace: 'default', generation: 2 }, status: { observedGeneration: 1, sinkUri: 'http://a/' } }]).settled).toBe(false);
    expect(boundEnv(svc, [binding('other', { name: 'someone-else' }, {})])).toEqual({ env: [], settled: true });
  });
});

describe('SinkBinding with the serving reconciler', () => {
  let clock: ManualClock;
  let store: Store;
  let runtime: LocalRuntime;
  let stateDir: string;
  let serving: ServingReconciler;
  let bindings: SinkBindingsReconciler;
  let autoscaler: Autoscaler;

  beforeEach(async () => {
    clock = new ManualClock();
    stateDir = await mkdtemp(join(tmpdir(), 'wisp-sinkbinding-'));
    store = await Store.open({ clock });
    runtime = await LocalRuntime.create({ clock });
    autoscaler = new Autoscaler({ clock, scaler: runtime });
    const activator = new Activator({ clock, reporter: autoscaler, registry: new Registry() });
    serving = new ServingReconciler({
      store,
      runtime,
      autoscaler,
      activator,
      clock,
      ingressPort: 8080,
      defaultBaseDir: stateDir,
      boundEnv: sinkBindingEnvSource(store),
    });
    bindings = new SinkBindingsReconciler({ store, clock });
    serving.start();
    bindings.start();
  });

  afterEach(async () => {
    bindings.stop();
    serving.stop();
    autoscaler.close();
    await runtime.close();
    await store.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  async function settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await bindings.idle();
      await serving.idle();
    }
  }

  const revisions = (svc: string): Revision[] =>
    store
      .list(REVISIONS, 'default')
      .filter((r) => r.metadata.labels?.['serving.knative.dev/service'] === svc)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)) as Revision[];
  const envOf = (r: Revision | undefined): Record<string, string> =>
    Object.fromEntries((r?.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '']));
  const conditions = (name: string): Condition[] => (store.get(SINKBINDINGS, 'default', name)?.status as { conditions: Condition[] }).conditions;

  it('a Service applied with its binding gets K_SINK in its first revision; a sink change rolls a new one; deleting the binding rolls one without', async () => {
    store.create(binding('bind', { selector: { matchLabels: { app: 'pub' } } }, { uri: 'http://127.0.0.1:9001/' }, { origin: 'test' }));
    store.create(service('pub', { app: 'pub' }, [{ name: 'K_SINK', value: 'overridden' }, { name: 'OWN', value: '1' }]));
    await settle();
    expect(revisions('pub').map((r) => r.metadata.name)).toEqual(['pub-00001']);
    expect(envOf(revisions('pub')[0])).toEqual({ OWN: '1', K_SINK: 'http://127.0.0.1:9001/', K_CE_OVERRIDES: '{"extensions":{"origin":"test"}}' });
    expect(store.get(SINKBINDINGS, 'default', 'bind')?.status).toMatchObject({ sinkUri: 'http://127.0.0.1:9001/', observedGeneration: 1 });
    expect(Object.fromEntries(conditions('bind').map((c) => [c.type, c.status]))).toEqual({ Ready: 'True', SinkProvided: 'True', BindingAvailable: 'True' });

    store.apply(binding('bind', { selector: { matchLabels: { app: 'pub' } } }, { uri: 'http://127.0.0.1:9002/' }, { origin: 'test' }));
    await settle();
    expect(revisions('pub').map((r) => r.metadata.name)).toEqual(['pub-00001', 'pub-00002']);
    expect(envOf(revisions('pub')[1]).K_SINK).toBe('http://127.0.0.1:9002/');
    // The Service's own spec is untouched: the binding lives in the revisions it cuts.
    expect(JSON.stringify(store.get(SERVICES, 'default', 'pub')?.spec)).not.toContain('9002');

    // Nothing changed: no new revision on a re-reconcile.
    store.apply(service('pub', { app: 'pub' }, [{ name: 'K_SINK', value: 'overridden' }, { name: 'OWN', value: '1' }]));
    await settle();
    expect(revisions('pub')).toHaveLength(2);

    store.delete(SINKBINDINGS, 'default', 'bind');
    await settle();
    expect(revisions('pub').map((r) => r.metadata.name)).toEqual(['pub-00001', 'pub-00002', 'pub-00003']);
    expect(envOf(revisions('pub')[2])).toEqual({ K_SINK: 'overridden', OWN: '1' });
  });

  it('a Service without a binding keeps the revision identity it always had (no roll on upgrade)', async () => {
    store.create(service('plain'));
    await settle();
    store.create(binding('elsewhere', { name: 'someone-else' }, { uri: 'http://127.0.0.1:9001/' }));
    await settle();
    expect(revisions('plain').map((r) => r.metadata.name)).toEqual(['plain-00001']);
    expect(revisions('plain')[0]?.spec?.containers[0]?.env).toBeUndefined();
  });

  it('a subject named but missing is BindingAvailable=False SubjectMissing until the Service appears', async () => {
    store.create(binding('early', { name: 'late' }, { uri: 'http://127.0.0.1:9001/' }));
    await settle();
    const bound = conditions('early').find((c) => c.type === 'BindingAvailable');
    expect(bound).toMatchObject({ status: 'False', reason: 'SubjectMissing' });
    expect(bound?.message).toContain('"late" not found in namespace "default"');
    expect(conditions('early').find((c) => c.type === 'Ready')?.status).toBe('False');

    store.create(service('late'));
    await settle();
    expect(conditions('early').find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(envOf(revisions('late').at(-1)).K_SINK).toBe('http://127.0.0.1:9001/');
  });

  it('a sink that does not resolve is SinkProvided=False and binds nothing', async () => {
    store.create(binding('nobroker', { name: 'pub' }, { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'missing' } }));
    store.create(service('pub'));
    await settle();
    expect(conditions('nobroker').find((c) => c.type === 'SinkProvided')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(revisions('pub')[0]?.spec?.containers[0]?.env).toBeUndefined();
  });
});
