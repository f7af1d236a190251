import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpSender } from '../../../broker/delivery/index.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject } from '../../../src/api/types.js';
import { Store } from '../../../src/control/store.js';
import { ApiServerSourceRunner, ApiServerSourcesReconciler, type ApiServerOutcome } from '../../../src/importers/apiserver/index.js';
import { ManualClock } from '../../support/clock.js';
import { waitFor } from '../../support/wait.js';
import { TestSink } from './sink.js';

const kind = (n: string): KindInfo => kindByName(n) as KindInfo;
const APISERVERSOURCES = kind('apiserversources');
const SERVICES = kind('ksvc');
const CONFIGMAPS = kind('configmaps');
const SOURCE_URI = 'http://127.0.0.1:8090';

const service = (name = 'hello'): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { template: { spec: { containers: [{ image: 'ghcr.io/x/hello' }] } } },
});
const configMap = (name: string, value: string): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v: value } });

describe('ApiServerSourceRunner', () => {
  let clock: ManualClock;
  let store: Store;
  let sink: TestSink;
  let sender: HttpSender;
  let runner: ApiServerSourceRunner | undefined;
  let outcomes: ApiServerOutcome[];
  let errors: string[];

  beforeEach(async () => {
    clock = new ManualClock();
    store = await Store.open({ clock });
    sink = await new TestSink().start();
    sender = new HttpSender();
    outcomes = [];
    errors = [];
  });

  afterEach(async () => {
    runner?.stop();
    await sink.close();
    await runner?.drained();
    await sender.close();
    await store.close();
  });

  function startRunner(maxQueued = 100): ApiServerSourceRunner {
    runner = new ApiServerSourceRunner({
      spec: { namespace: 'default', name: 'cm', resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }], mode: 'Reference', sourceUri: SOURCE_URI, sinkUri: sink.url },
      store,
      clock,
      sender,
      delivery: { backoffDelayMs: 100, timeoutMs: 5000, maxQueued },
      onOutcome: (o) => outcomes.push(o),
      onError: (e) => errors.push(e.message),
    });
    runner.start();
    return runner;
  }

  it('delivers changes in order, retrying a failed event before the next one', async () => {
    startRunner();
    sink.script.push(503);
    store.create(configMap('a', '1'));
    store.apply(configMap('a', '2'));
    store.delete(CONFIGMAPS, 'default', 'a');
    await waitFor(() => sink.received.length === 1);
    expect(runner?.queued).toBe(2);
    // The 503 is handled (its retry timer set) before the clock moves, however slow the machine.
    await waitFor(() => clock.pendingTimers() > 0, { what: 'the retry timer' });
    await clock.advanceAsync(200, 10);
    await runner?.drained();
    expect(sink.received.map((r) => r.headers['ce-type'])).toEqual([
      'dev.knative.apiserver.ref.add',
      'dev.knative.apiserver.ref.add',
      'dev.knative.apiserver.ref.update',
      'dev.knative.apiserver.ref.delete',
    ]);
    expect(sink.received[0]?.headers['ce-subject']).toBe('/apis/v1/namespaces/default/configmaps/a');
    expect(JSON.parse(sink.received[3]?.body ?? '')).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', name: 'a', namespace: 'default' });
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(errors).toEqual([]);
  });

  it('a stuck sink does not block the store: beyond maxQueued the oldest event is dropped and counted', async () => {
    startRunner(2);
    sink.script.push('hang');
    store.create(configMap('a', '1'));
    await waitFor(() => sink.received.length === 1);
    for (const n of ['b', 'c', 'd', 'e']) store.create(configMap(n, n));
    expect(store.list(CONFIGMAPS)).toHaveLength(5);
    expect(runner?.queued).toBe(2);
    expect(runner?.dropped).toBe(2);
    expect(outcomes.filter((o) => o.kind === 'dropped').map((o) => o.subject)).toEqual([
      '/apis/v1/namespaces/default/configmaps/b',
      '/apis/v1/namespaces/default/configmaps/c',
    ]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('ApiServerSource default/cm: event skipped');
  });

  it('stop() unsubscribes from the store', async () => {
    const r = startRunner();
    const watchers = store.watcherCount;
    r.stop();
    expect(store.watcherCount).toBe(watchers - 1);
    store.create(configMap('a', '1'));
    await r.drained();
    expect(sink.received).toEqual([]);
  });
});

describe('ApiServerSourcesReconciler', () => {
  let clock: ManualClock;
  let store: Store;
  let sink: TestSink;
  let sender: HttpSender;
  let reconciler: ApiServerSourcesReconciler;
  let errors: string[];

  beforeEach(async () => {
    clock = new ManualClock();
    store = await Store.open({ clock });
    sink = await new TestSink().start();
    sender = new HttpSender();
    errors = [];
    reconciler = new ApiServerSourcesReconciler({
      store,
      clock,
      sender,
      sourceUri: SOURCE_URI,
      delivery: { backoffDelayMs: 100, timeoutMs: 5000 },
      onError: (what, err) => errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    });
    reconciler.start();
  });

  afterEach(async () => {
    const runner = reconciler.runner('default/watch');
    reconciler.stop();
    await sink.close();
    await runner?.drained();
    await sender.close();
    await store.close();
  });

  const source = (sink: Record<string, unknown>): KObject => ({
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    metadata: { name: 'watch', namespace: 'default' },
    spec: { mode: 'Resource', resources: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service' }], sink },
  });
  const status = (): { sinkUri?: string; conditions?: Condition[]; ceAttributes?: unknown[] } =>
    (store.get(APISERVERSOURCES, 'default', 'watch')?.status ?? {}) as { sinkUri?: string; conditions?: Condition[] };
  const cond = (type: string): Condition | undefined => status().conditions?.find((c) => c.type === type);

  it('a Service applied into the store reaches the sink as resource.add with the object; deleting it sends resource.delete', async () => {
    store.create(source({ uri: sink.url }));
    await reconciler.idle();
    expect(status().sinkUri).toBe(sink.url);
    expect(cond('Ready')?.status).toBe('True');
    expect(cond('SinkProvided')?.status).toBe('True');
    expect(cond('Deployed')?.status).toBe('True');
    expect(status().ceAttributes).toContainEqual({ type: 'dev.knative.apiserver.resource.add', source: SOURCE_URI });
    expect(reconciler.running()).toEqual(['default/watch']);

    store.apply(service());
    const added = await waitFor(() => sink.received.find((r) => r.headers['ce-type'] === 'dev.knative.apiserver.resource.add'));
    expect(added.headers['ce-source']).toBe(SOURCE_URI);
    expect(added.headers['ce-subject']).toBe('/apis/serving.knative.dev/v1/namespaces/default/services/hello');
    expect(added.headers['ce-kind']).toBe('Service');
    const body = JSON.parse(added.body) as KObject;
    expect(body.metadata.name).toBe('hello');
    expect(body.spec).toEqual(service().spec);

    store.delete(SERVICES, 'default', 'hello');
    const deleted = await waitFor(() => sink.received.find((r) => r.headers['ce-type'] === 'dev.knative.apiserver.resource.delete'));
    expect((JSON.parse(deleted.body) as KObject).metadata.name).toBe('hello');
    expect(errors).toEqual([]);
  });

  it('embedded, a namespaceSelector is not supported (the store has no Namespaces): Ready False, reason Unsupported', async () => {
    store.create({ ...source({ uri: sink.url }), spec: { ...source({ uri: sink.url }).spec as object, namespaceSelector: { matchLabels: { env: 'test' } } } });
    await reconciler.idle();
    expect(cond('Ready')).toMatchObject({ status: 'False', reason: 'Unsupported' });
    expect(cond('Ready')?.message).toContain('Kubernetes mode');
    expect(reconciler.running()).toEqual([]);
  });

  it('an unresolvable sink is not Ready and runs nothing; deleting the source stops its events', async () => {
    store.create(source({ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'missing' } }));
    await reconciler.idle();
    expect(cond('SinkProvided')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(cond('Ready')?.status).toBe('False');
    expect(reconciler.running()).toEqual([]);

    store.apply(source({ uri: sink.url }));
    await reconciler.idle();
    expect(reconciler.running()).toEqual(['default/watch']);
    store.delete(APISERVERSOURCES, 'default', 'watch');
    await reconciler.idle();
    expect(reconciler.running()).toEqual([]);
    store.apply(service());
    await reconciler.idle();
    expect(sink.received).toEqual([]);
  });
});
