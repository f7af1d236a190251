/**
 * A Broker whose Trigger is at its backlog limit says so in its status (condition BacklogWithinLimit, Ready's
 * reason) and in the backlog gauges, from the reconciler's poll of the backend; `wisp.dev/max-backlog` sets the limit.
 */
import { CloudEvent } from 'cloudevents';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../broker/backends/memory.js';
import { BackendFullError } from '../../../broker/errors.js';
import { BacklogMetrics } from '../../../broker/ingress/metrics.js';
import type { BrokerRef, Consumer, EventBackend, TriggerRuntime } from '../../../broker/types.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject } from '../../../src/api/types.js';
import { readiness } from '../../../src/cli/format/columns.js';
import { EventingReconciler } from '../../../src/control/eventing/index.js';
import { Store } from '../../../src/control/store.js';
import { ManualClock } from '../../support/clock.js';
import { waitFor } from '../../support/wait.js';

const BROKERS = kindByName('brokers') as KindInfo;
const HEALTH_MS = 100;

/** Subscribes each Trigger on its backend with a handler that waits for `open()`. */
class GatedDispatcher {
  readonly #consumers: Consumer[] = [];
  #release!: () => void;
  readonly #gate = new Promise<void>((r) => (this.#release = r));
  handled = 0;

  async upsertTrigger(runtime: TriggerRuntime, backend: EventBackend): Promise<void> {
    const broker: BrokerRef = { namespace: runtime.namespace, name: runtime.broker };
    this.#consumers.push(
      await backend.subscribe({ broker, trigger: runtime.key, maxInFlight: 1 }, async () => {
        await this.#gate;
        this.handled++;
        return { kind: 'done' };
      }),
    );
  }
  async removeTrigger(): Promise<void> {}
  open(): void {
    this.#release();
  }
  async close(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.close()));
  }
}

let store: Store;
let clock: ManualClock;
let memory: MemoryBackend;
let dispatcher: GatedDispatcher;
let reconciler: EventingReconciler;
let registry: Registry;

beforeEach(async () => {
  clock = new ManualClock();
  store = await Store.open({ clock });
  memory = new MemoryBackend({ clock });
  dispatcher = new GatedDispatcher();
  registry = new Registry();
  reconciler = new EventingReconciler({
    store,
    clock,
    brokerIngressUrl: 'http://127.0.0.1:8081',
    backends: [memory],
    defaultBrokerClass: 'Memory',
    dispatcher,
    healthIntervalMs: HEALTH_MS,
    defaultMaxBacklog: 100,
  });
  new BacklogMetrics(registry, () => reconciler.backlogSnapshot());
  reconciler.start();
});

afterEach(async () => {
  reconciler.stop();
  dispatcher.open();
  await dispatcher.close();
  await memory.close();
});

function apply(annotations: Record<string, string>): void {
  store.apply({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'default', annotations }, spec: {} });
  store.apply({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'orders', namespace: 'default' },
    spec: { broker: 'default', subscriber: { uri: 'http://127.0.0.1:9/orders' } },
  });
}

function brokerObject(): KObject {
  return store.get(BROKERS, 'default', 'default') as KObject;
}

function condition(type: string): Condition | undefined {
  return ((brokerObject().status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
}

/** One health tick: the reconciler polls the backlog, then reconciles what changed. */
async function tick(): Promise<void> {
  clock.advance(HEALTH_MS);
  await new Promise((r) => setImmediate(r));
  await reconciler.idle();
}

const broker = { namespace: 'default', name: 'default' };
const event = (i: number): CloudEvent<unknown> => new CloudEvent<unknown>({ id: `e${i}`, type: 't', source: '/s' }) as unknown as CloudEvent;

async function gauge(name: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => v.labels['broker'] === 'default/default' && v.labels['trigger'] === 'default/orders')?.value;
}

describe('Broker status and metrics: backlog limit', () => {
  it('reports BacklogFull while a Trigger is at wisp.dev/max-backlog, and BacklogWithinLimit again once it drained', async () => {
    apply({ 'wisp.dev/max-backlog': '3' });
    await reconciler.idle();
    await tick();
    expect(condition('Ready')?.status).toBe('True');
    expect(condition('BacklogWithinLimit')).toMatchObject({ status: 'True', reason: 'BacklogWithinLimit', message: 'At most 3 events wait per Trigger.' });

    for (let i = 0; i < 4; i++) await memory.publish(broker, event(i)); // one in the handler, three waiting
    await expect(memory.publish(broker, event(4))).rejects.toBeInstanceOf(BackendFullError);
    await tick();
    await waitFor(() => condition('BacklogWithinLimit')?.status === 'False', { what: 'BacklogFull in the status' });
    expect(condition('BacklogWithinLimit')).toMatchObject({
      reason: 'BacklogFull',
      message: 'Trigger default/orders is at the backlog limit of 3 events waiting: the ingress answers 503 with Retry-After until the subscriber catches up.',
    });
    // The broker still works (its Triggers keep consuming): Ready stays True and carries the reason, as `wisp get brokers` shows.
    expect(condition('Ready')).toMatchObject({ status: 'True', reason: 'BacklogFull' });
    expect(readiness(brokerObject())).toEqual({ ready: 'True', reason: 'BacklogFull' });
    expect(await gauge('wisp_broker_backlog_events')).toBe(3);
    expect(await gauge('wisp_broker_backlog_limit')).toBe(3);

    dispatcher.open();
    await waitFor(() => dispatcher.handled === 4, { what: 'drained' });
    await tick();
    await waitFor(() => condition('BacklogWithinLimit')?.status === 'True', { what: 'BacklogWithinLimit again' });
    expect(condition('Ready')?.reason).toBeUndefined();
    expect(await gauge('wisp_broker_backlog_events')).toBe(0);
  });

  it('without the annotation the platform default applies; an invalid value is ignored and the status says so', async () => {
    apply({ 'wisp.dev/max-backlog': 'lots' });
    await reconciler.idle();
    await tick();
    expect(condition('BacklogWithinLimit')?.message).toBe(
      'At most 100 events wait per Trigger (annotation wisp.dev/max-backlog ignored: invalid value "lots": want an integer from 1 to 100000000 (events waiting per Trigger)).',
    );
    await memory.publish(broker, event(0));
    for (let i = 1; i <= 100; i++) await memory.publish(broker, event(i));
    await expect(memory.publish(broker, event(101))).rejects.toMatchObject({ code: 'WISP_ERR_BACKEND_FULL', limit: 100 });
  });
});
