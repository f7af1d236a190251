import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpSender } from '../../../broker/delivery/index.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject } from '../../../src/api/types.js';
import { tableFor } from '../../../src/cli/format/columns.js';
import { Store } from '../../../src/control/store.js';
import { ImportersReconciler, type PingOutcome } from '../../../src/importers/index.js';
import { ManualClock } from '../../support/clock.js';
import { waitFor } from '../../support/wait.js';
import { TestSink } from './sink.js';

const kind = (n: string): KindInfo => kindByName(n) as KindInfo;
const PINGSOURCES = kind('pingsources');
const BROKERS = kind('brokers');
const SERVICES = kind('ksvc');

function pingSource(spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    metadata: { name: 'tick', namespace: 'default' },
    spec: {
      schedule: '*/2 * * * * *',
      contentType: 'application/json',
      data: '{"n":1}',
      sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } },
      ceOverrides: { extensions: { origin: 'wisp' } },
      ...spec,
    },
  };
}

interface PingStatus {
  observedGeneration?: number;
  sinkUri?: string;
  ceAttributes?: { type: string; source: string }[];
  conditions?: Condition[];
}

describe('ImportersReconciler', () => {
  let clock: ManualClock;
  let store: Store;
  let sink: TestSink;
  let sender: HttpSender;
  let reconciler: ImportersReconciler;
  let outcomes: { key: string; outcome: PingOutcome }[];
  let errors: string[];

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    store = await Store.open({ clock });
    sink = await new TestSink().start();
    sender = new HttpSender();
    outcomes = [];
    errors = [];
    reconciler = new ImportersReconciler({
      store,
      clock,
      sender,
      delivery: { backoffDelayMs: 100, timeoutMs: 5000 },
      onOutcome: (key, outcome) => outcomes.push({ key, outcome }),
      onError: (what, err) => errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    });
  });

  afterEach(async () => {
    reconciler.stop();
    await sink.close();
    await sender.close();
    await store.close();
  });

  const status = (): PingStatus => (store.get(PINGSOURCES, 'default', 'tick')?.status ?? {}) as PingStatus;
  const condition = (type: string): Condition | undefined => status().conditions?.find((c) => c.type === type);

  function addBroker(url: string | undefined): void {
    store.create({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'default' } });
    if (url !== undefined) store.updateStatus(BROKERS, 'default', 'default', { address: { name: 'http', url }, conditions: [{ type: 'Ready', status: 'True' }] });
  }

  it('is not ready while its sink Broker is missing, then ready with sinkUri once the Broker has an address', async () => {
    store.create(pingSource());
    reconciler.start();
    await reconciler.idle();
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(condition('SinkProvided')).toMatchObject({
      status: 'False',
      reason: 'NotFound',
      message: 'failed to get object default/default: brokers.eventing.knative.dev "default" not found',
    });
    expect(condition('Deployed')).toMatchObject({ status: 'Unknown', reason: 'SinkNotResolved' });
    expect(status()).toMatchObject({ observedGeneration: 1, ceAttributes: [{ type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/default/pingsources/tick' }] });
    expect(status().sinkUri).toBeUndefined();
    clock.advance(4000);
    expect(reconciler.running()).toEqual([]);

    addBroker(sink.url);
    await reconciler.idle();
    expect(status().sinkUri).toBe(sink.url);
    expect(status().conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'Deployed=True', 'SinkProvided=True']);
    expect(reconciler.running()).toEqual(['default/tick']);

    clock.advance(2000);
    await waitFor(() => sink.received.length === 1);
    expect(sink.received[0]?.headers).toMatchObject({ 'ce-type': 'dev.knative.sources.ping', 'ce-origin': 'wisp' });
    expect(sink.received[0]?.body).toBe('{"n":1}');

    // What `wisp get pingsources` shows.
    const table = tableFor(PINGSOURCES, store.list(PINGSOURCES), { now: clock.now(), allNamespaces: false });
    expect(table.headers).toEqual(['NAME', 'SCHEDULE', 'SINK', 'READY', 'REASON', 'AGE']);
    expect(table.rows).toEqual([['tick', '*/2 * * * * *', sink.url, 'True', '', '6s']]);
  });

  it('a Broker without an address leaves the sink unresolved; losing the Broker stops the events', async () => {
    addBroker(undefined);
    store.create(pingSource());
    reconciler.start();
    await reconciler.idle();
    expect(condition('SinkProvided')).toMatchObject({ status: 'False', reason: 'NotFound', message: 'address not set for Broker default/default' });
    store.updateStatus(BROKERS, 'default', 'default', { address: { name: 'http', url: sink.url } });
    await reconciler.idle();
    expect(condition('Ready')?.status).toBe('True');
    store.delete(BROKERS, 'default', 'default');
    await reconciler.idle();
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(reconciler.running()).toEqual([]);
    // No timer is left to fire: nothing more is ever sent.
    expect(clock.pendingTimers()).toBe(0);
    expect(sink.received).toHaveLength(0);
  });

  it('resolves a uri sink and a Service sink, and restarts the runner when the spec changes', async () => {
    store.create(pingSource({ sink: { uri: sink.url } }));
    reconciler.start();
    await reconciler.idle();
    expect(status().sinkUri).toBe(sink.url);

    store.create({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'display', namespace: 'default' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } } });
    store.apply(pingSource({ data: '{"n":2}', sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' }, uri: '/in' } }));
    await reconciler.idle();
    expect(condition('SinkProvided')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(reconciler.running()).toEqual([]);

    store.updateStatus(SERVICES, 'default', 'display', { url: sink.url.replace(/\/events$/, '/') });
    await reconciler.idle();
    const expected = sink.url.replace(/\/events$/, '/in');
    expect(status()).toMatchObject({ sinkUri: expected, observedGeneration: 2 });
    clock.advance(2000);
    await waitFor(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ key: 'default/tick', outcome: { kind: 'delivered' } });
    expect(sink.received[0]?.body).toBe('{"n":2}');
  });

  it('deleting the PingSource stops its events', async () => {
    addBroker(sink.url);
    store.create(pingSource());
    reconciler.start();
    await reconciler.idle();
    clock.advance(2000);
    await waitFor(() => outcomes.length === 1);
    store.delete(PINGSOURCES, 'default', 'tick');
    await reconciler.idle();
    expect(reconciler.running()).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(10_000);
    expect(outcomes).toHaveLength(1);
    expect(sink.received).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('reports a schedule that cannot run (stored before validation) as Deployed=False', async () => {
    addBroker(sink.url);
    store.create(pingSource({ timezone: 'Mars/Base' }));
    reconciler.start();
    await reconciler.idle();
    expect(condition('Deployed')).toMatchObject({ status: 'False', reason: 'InvalidSchedule', message: 'unknown time zone "Mars/Base"' });
    expect(condition('Ready')).toMatchObject({ status: 'False', reason: 'InvalidSchedule' });
    expect(reconciler.running()).toEqual([]);
  });
});
