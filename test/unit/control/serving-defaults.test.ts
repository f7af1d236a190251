/**
 * The serving reconciler with config-defaults read and watched (watchServingDefaults): ksvcs written to the store
 * without Wisp's admission, as kubectl writes them in Kubernetes mode. Revisions get the defaults current when they
 * are cut; a change rolls nothing; a bad ConfigMap is logged and the defaults before it are kept; a template over the
 * limits cuts no Revision and the Service says why (ConfigurationsReady False, RevisionFailed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Activator } from '../../../activator/index.js';
import { Autoscaler } from '../../../autoscaler/index.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject, Revision } from '../../../src/api/types.js';
import { watchServingDefaults, type ServingDefaultsSource } from '../../../src/control/serving/defaults-source.js';
import { ServingReconciler } from '../../../src/control/serving/reconciler.js';
import { Store } from '../../../src/control/store.js';
import { LocalRuntime } from '../../../src/runtime/index.js';
import { ManualClock } from '../../support/clock.js';

const kind = (n: string): KindInfo => kindByName(n) as KindInfo;
const SERVICES = kind('ksvc');
const REVISIONS = kind('revisions');
const CONFIGMAPS = kind('configmaps');

const configDefaults = (data: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'config-defaults', namespace: 'knative-serving' },
  data,
});

// An image-only container never spawns on the local runtime: the revision logic runs, no process does.
const ksvc = (target: string, spec: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace: 'default' },
  spec: { template: { spec: { containers: [{ image: 'example.com/hello', env: [{ name: 'TARGET', value: target }] }], ...spec } } },
});

describe('serving reconciler with config-defaults', () => {
  let clock: ManualClock;
  let store: Store;
  let runtime: LocalRuntime;
  let stateDir: string;
  let serving: ServingReconciler;
  let autoscaler: Autoscaler;
  let defaults: ServingDefaultsSource;
  let warnings: string[];

  beforeEach(async () => {
    clock = new ManualClock();
    stateDir = await mkdtemp(join(tmpdir(), 'wisp-config-defaults-'));
    store = await Store.open({ clock });
    runtime = await LocalRuntime.create({ clock });
    autoscaler = new Autoscaler({ clock, scaler: runtime });
    warnings = [];
    defaults = watchServingDefaults({ store, log: { warn: (m) => warnings.push(m) } });
    const activator = new Activator({ clock, reporter: autoscaler, registry: new Registry() });
    serving = new ServingReconciler({ store, runtime, autoscaler, activator, clock, ingressPort: 8080, defaultBaseDir: stateDir, defaults: defaults.current });
    serving.start();
  });

  afterEach(async () => {
    serving.stop();
    defaults.close();
    autoscaler.close();
    await runtime.close();
    await store.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const revision = (name: string): Revision | undefined => store.get(REVISIONS, 'default', name) as Revision | undefined;
  const condition = (type: string): Condition | undefined => (store.get(SERVICES, 'default', 'hello')?.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === type);

  it('cuts revisions with the config-defaults of the moment; a change (watched) rolls nothing, the next revision gets it', async () => {
    await store.apply(configDefaults({ 'container-concurrency': '3', 'revision-timeout-seconds': '42', 'container-name-template': '{{.Name}}', 'revision-cpu-request': '250m' }));
    await store.apply(ksvc('one'));
    await serving.idle();
    expect(revision('hello-00001')?.spec).toMatchObject({ containerConcurrency: 3, timeoutSeconds: 42, containers: [{ name: 'hello', resources: { requests: { cpu: '250m' } } }] });

    await store.apply(configDefaults({ 'container-concurrency': '5', 'revision-timeout-seconds': '60' }));
    await serving.idle();
    expect(store.list(REVISIONS, 'default').map((r) => r.metadata.name)).toEqual(['hello-00001']);
    expect(revision('hello-00001')?.spec).toMatchObject({ containerConcurrency: 3, timeoutSeconds: 42 });

    await store.apply(ksvc('two'));
    await serving.idle();
    expect(revision('hello-00002')?.spec).toMatchObject({ containerConcurrency: 5, timeoutSeconds: 60, containers: [{ name: 'user-container' }] });
    expect(revision('hello-00002')?.spec?.containers[0]).not.toHaveProperty('resources');
  });

  it('a config-defaults that does not parse is logged and the defaults before it kept; deleting it gives the compiled defaults back', async () => {
    await store.apply(configDefaults({ 'revision-timeout-seconds': '42' }));
    await store.apply(configDefaults({ 'revision-timeout-seconds': 'soon' }));
    expect(warnings).toEqual(['config-defaults: data.revision-timeout-seconds: invalid value "soon": want an integer; revisions are cut with the defaults before it until it is fixed']);
    await store.apply(ksvc('one'));
    await serving.idle();
    expect(revision('hello-00001')?.spec?.timeoutSeconds).toBe(42);

    await store.delete(CONFIGMAPS, 'knative-serving', 'config-defaults');
    await store.apply(ksvc('two'));
    await serving.idle();
    expect(revision('hello-00002')?.spec).toMatchObject({ timeoutSeconds: 300, containerConcurrency: 0 });
  });

  it('a template over the limits cuts no Revision (Ready False, RevisionFailed); the older revision keeps serving; raising the limit lets it through', async () => {
    await store.apply(ksvc('one'));
    await serving.idle();
    expect(revision('hello-00001')).toBeDefined();

    await store.apply(configDefaults({ 'max-revision-timeout-seconds': '300' }));
    await store.apply(ksvc('two', { timeoutSeconds: 400 }));
    await serving.idle();
    expect(store.list(REVISIONS, 'default').map((r) => r.metadata.name)).toEqual(['hello-00001']);
    const expected = { status: 'False', reason: 'RevisionFailed', message: 'Revision creation failed with message: expected 0 <= 400 <= 300: spec.template.spec.timeoutSeconds.' };
    expect(condition('ConfigurationsReady')).toMatchObject(expected);
    expect(condition('Ready')).toMatchObject(expected);
    expect((store.get(SERVICES, 'default', 'hello')?.status as { latestCreatedRevisionName?: string }).latestCreatedRevisionName).toBe('hello-00001');

    // config-defaults is watched: the Service is tried again under the new limit.
    await store.apply(configDefaults({ 'max-revision-timeout-seconds': '400' }));
    await serving.idle();
    expect(revision('hello-00002')?.spec?.timeoutSeconds).toBe(400);
    // (Locally an image-only revision then fails to run: that is the revision's own failure, not its creation's.)
    expect(condition('ConfigurationsReady')?.message).not.toMatch(/creation failed/);
    expect((store.get(SERVICES, 'default', 'hello')?.status as { latestCreatedRevisionName?: string }).latestCreatedRevisionName).toBe('hello-00002');
  });

  it('the first revision over the limits: no Revision at all, the Service says why', async () => {
    await store.apply(configDefaults({ 'container-concurrency-max-limit': '10' }));
    await store.apply(ksvc('one', { containerConcurrency: 50 }));
    await serving.idle();
    expect(store.list(REVISIONS, 'default')).toEqual([]);
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'RevisionFailed', message: 'Revision creation failed with message: expected 0 <= 50 <= 10: spec.template.spec.containerConcurrency.' });
  });
});
