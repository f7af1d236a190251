import { CloudEvent } from 'cloudevents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../broker/backends/memory.js';
import type { BrokerRef, Consumer, EventBackend, EventHandler, TriggerRuntime, TriggerSubscription } from '../../../broker/types.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import type { Condition, KObject } from '../../../src/api/types.js';
import { EventingReconciler } from '../../../src/control/eventing/index.js';
import { Store } from '../../../src/control/store.js';
import { ManualClock } from '../../support/clock.js';

const kind = (n: string): KindInfo => kindByName(n) as KindInfo;
const BROKERS = kind('brokers');
const TRIGGERS = kind('triggers');
const SERVICES = kind('ksvc');
const INGRESS = 'http://127.0.0.1:8081';

/** The reconciler's narrow dispatcher interface, recording what it was told. */
class RecordingDispatcher {
  readonly calls: string[] = [];
  readonly live = new Map<string, { runtime: TriggerRuntime; backend: EventBackend }>();
  failNext: Error | undefined;

  async upsertTrigger(runtime: TriggerRuntime, backend: EventBackend): Promise<void> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    this.calls.push(`upsert ${runtime.key}`);
    this.live.set(runtime.key, { runtime, backend });
  }

  async removeTrigger(key: string): Promise<void> {
    this.calls.push(`remove ${key}`);
    this.live.delete(key);
  }
}

/** A second backend class for routing tests: records calls; ensureBroker fails while `down`. */
class RecordingBackend implements EventBackend {
  readonly classes = ['Redis'] as const;
  readonly calls: string[] = [];
  down = false;
  async ensureBroker(b: BrokerRef): Promise<void> {
    this.calls.push(`ensure ${b.namespace}/${b.name}`);
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  }
  async deleteBroker(b: BrokerRef): Promise<void> {
    this.calls.push(`delete ${b.namespace}/${b.name}`);
  }
  async publish(): Promise<void> {}
  async publishBatch(): Promise<void> {}
  async subscribe(_sub: TriggerSubscription, _handle: EventHandler): Promise<Consumer> {
    return { close: async () => undefined };
  }
  async unsubscribe(sub: TriggerSubscription): Promise<void> {
    this.calls.push(`unsubscribe ${sub.trigger}`);
  }
  async close(): Promise<void> {}
}

let store: Store;
let clock: ManualClock;
let memory: MemoryBackend;
let dispatcher: RecordingDispatcher;
let reconciler: EventingReconciler;
let errors: string[];

beforeEach(async () => {
  clock = new ManualClock();
  store = await Store.open({ clock });
  memory = new MemoryBackend({ clock });
  dispatcher = new RecordingDispatcher();
  errors = [];
  reconciler = new EventingReconciler({
    store,
    clock,
    brokerIngressUrl: INGRESS,
    backends: [memory],
    defaultBrokerClass: 'Memory',
    dispatcher,
    onError: (what, err) => errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
  });
  reconciler.start();
});

afterEach(async () => {
  reconciler.stop();
  await memory.close();
});

function broker(name = 'default', opts: { cls?: string; spec?: Record<string, unknown>; namespace?: string } = {}): KObject {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: { name, namespace: opts.namespace ?? 'default', ...(opts.cls ? { annotations: { 'eventing.knative.dev/broker.class': opts.cls } } : {}) },
    spec: opts.spec ?? {},
  };
}

function trigger(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): KObject {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec: { broker: 'default', ...spec },
  };
}

function service(name: string, url?: string): void {
  store.apply({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } },
  });
  if (url !== undefined) store.updateStatus(SERVICES, 'default', name, { url, address: { url }, conditions: [] });
}

async function settle(): Promise<void> {
  await reconciler.idle();
}

function status(info: KindInfo, name: string): Record<string, any> {
  return (store.get(info, 'default', name)?.status ?? {}) as Record<string, any>;
}

function condition(info: KindInfo, name: string, type: string): Condition | undefined {
  return (status(info, name).conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

const event = (attrs: Record<string, string> = {}): CloudEvent => new CloudEvent({ id: '1', type: 'dev.example.order', source: '/orders', ...attrs });

describe('EventingReconciler: Brokers', () => {
  it('makes a Broker Ready with its address on the broker ingress, as Knative MT brokers show it', async () => {
    store.apply(broker());
    await settle();
    const s = status(BROKERS, 'default');
    expect(s.address).toEqual({ name: 'http', url: `${INGRESS}/default/default` });
    expect(s.addresses).toEqual([{ name: 'http', url: `${INGRESS}/default/default` }]);
    expect(s.observedGeneration).toBe(1);
    const types = (s.conditions as Condition[]).map((c) => `${c.type}=${c.status}`);
    expect(types).toEqual(['Ready=True', 'Addressable=True', 'BacklogWithinLimit=True', 'DeadLetterSinkResolved=True', 'FilterReady=True', 'IngressReady=True', 'TriggerChannelReady=True']);
    expect(condition(BROKERS, 'default', 'DeadLetterSinkResolved')).toMatchObject({ reason: 'DeadLetterSinkNotConfigured', message: 'No dead letter sink is configured.' });

    const found = reconciler.lookupBroker('default', 'default');
    expect(found?.broker).toEqual({ namespace: 'default', name: 'default' });
    expect(found?.backend).toBe(memory);
    // The backend has the broker's storage: publishing works.
    await expect(memory.publish({ namespace: 'default', name: 'default' }, event())).resolves.toBeUndefined();
    expect(reconciler.lookupBroker('default', 'nope')).toBeUndefined();
  });

  it('reports a class with no backend in this process as BrokerClassNotAvailable, naming the available ones', async () => {
    store.apply(broker('durable', { cls: 'Redis' }));
    await settle();
    const ready = condition(BROKERS, 'durable', 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'BrokerClassNotAvailable' });
    expect(ready?.message).toBe('broker class "Redis" is not available in this Wisp process; available classes: MTChannelBasedBroker, Memory');
    expect(status(BROKERS, 'durable').address).toBeUndefined();
    expect(reconciler.lookupBroker('default', 'durable')).toBeUndefined();
  });

  it('routes each class to the backend serving it, and retries a backend that cannot create the storage', async () => {
    const redis = new RecordingBackend();
    redis.down = true;
    reconciler.stop();
    reconciler = new EventingReconciler({ store, clock, brokerIngressUrl: INGRESS, backends: [memory, redis], defaultBrokerClass: 'Memory', dispatcher });
    reconciler.start();
    store.apply(broker('durable', { cls: 'Redis' }));
    store.apply(trigger('t1', { broker: 'durable', subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    await settle();
    const ready = condition(BROKERS, 'durable', 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'BackendUnavailable' });
    expect(ready?.message).toBe('the Redis backend is unavailable: connect ECONNREFUSED 127.0.0.1:6379');
    expect(condition(TRIGGERS, 't1', 'BrokerReady')).toMatchObject({ status: 'False', reason: 'BackendUnavailable' });

    redis.down = false;
    clock.advance(1000);
    await settle();
    expect(condition(BROKERS, 'durable', 'Ready')?.status).toBe('True');
    expect(reconciler.lookupBroker('default', 'durable')?.backend).toBe(redis);
    expect(dispatcher.live.get('default/t1')?.backend).toBe(redis);
    expect(redis.calls).toEqual(['ensure default/durable', 'ensure default/durable']);

    store.delete(BROKERS, 'default', 'durable');
    await settle();
    expect(redis.calls.at(-1)).toBe('delete default/durable');
  });

  it('uses the default class, and MTChannelBasedBroker maps to the memory backend too', async () => {
    store.apply(broker('mt', { cls: 'MTChannelBasedBroker' }));
    await settle();
    expect(condition(BROKERS, 'mt', 'Ready')?.status).toBe('True');
    expect(reconciler.lookupBroker('default', 'mt')?.backend).toBe(memory);
  });

  it('deletes the storage of a deleted Broker, and its Triggers stop', async () => {
    store.apply(broker());
    store.apply(trigger('t1', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    await settle();
    expect(dispatcher.calls).toEqual(['upsert default/t1']);
    store.delete(BROKERS, 'default', 'default');
    await settle();
    expect(reconciler.lookupBroker('default', 'default')).toBeUndefined();
    await expect(memory.publish({ namespace: 'default', name: 'default' }, event())).rejects.toThrow();
    expect(dispatcher.calls).toEqual(['upsert default/t1', 'remove default/t1']);
    expect(condition(TRIGGERS, 't1', 'BrokerReady')).toMatchObject({ status: 'False', reason: 'BrokerDoesNotExist', message: 'Broker "default" does not exist' });
  });

  it("resolves a Broker's dead-letter sink into status.deadLetterSinkUri", async () => {
    store.apply(broker('default', { spec: { delivery: { deadLetterSink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'dlq' } } } } }));
    await settle();
    expect(condition(BROKERS, 'default', 'Ready')).toMatchObject({ status: 'False', reason: "Unable to get the dead letter sink's URI" });
    expect(reconciler.lookupBroker('default', 'default')).toBeUndefined();
    service('dlq', 'http://dlq.default.localhost:8080');
    await settle();
    expect(condition(BROKERS, 'default', 'Ready')?.status).toBe('True');
    expect(status(BROKERS, 'default').deadLetterSinkUri).toBe('http://dlq.default.localhost:8080');
  });
});

describe('EventingReconciler: Triggers', () => {
  it('reports a missing Broker, then becomes Ready when the Broker appears', async () => {
    store.apply(trigger('t1', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    await settle();
    expect(condition(TRIGGERS, 't1', 'Ready')).toMatchObject({ status: 'False', reason: 'BrokerDoesNotExist', message: 'Broker "default" does not exist' });
    expect(condition(TRIGGERS, 't1', 'BrokerReady')).toMatchObject({ status: 'False', reason: 'BrokerDoesNotExist' });
    expect(dispatcher.calls).toEqual([]);

    store.apply(broker());
    await settle();
    const s = status(TRIGGERS, 't1');
    expect(s.subscriberUri).toBe('http://127.0.0.1:9/sink');
    expect((s.conditions as Condition[]).map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=True',
      'BrokerReady=True',
      'DeadLetterSinkResolved=True',
      'DependencyReady=True',
      'SubscriberResolved=True',
      'SubscriptionReady=True',
    ]);
    expect(dispatcher.calls).toEqual(['upsert default/t1']);
    const live = dispatcher.live.get('default/t1');
    expect(live?.backend).toBe(memory);
    expect(live?.runtime).toMatchObject({ key: 'default/t1', namespace: 'default', name: 't1', broker: 'default', subscriberUri: 'http://127.0.0.1:9/sink', maxInFlight: 100 });
    expect(live?.runtime.delivery).toMatchObject({ retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200 });
    expect(live?.runtime.delivery.deadLetterUri).toBeUndefined();
  });

  it('propagates a not-Ready Broker into BrokerReady', async () => {
    store.apply(broker('default', { cls: 'Kafka' }));
    store.apply(trigger('t1', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    await settle();
    expect(condition(TRIGGERS, 't1', 'BrokerReady')).toMatchObject({ status: 'False', reason: 'BrokerClassNotAvailable' });
    expect(condition(TRIGGERS, 't1', 'Ready')?.status).toBe('False');
    expect(dispatcher.calls).toEqual([]);
  });

  it('waits for a subscriber Service, becomes Ready when it gets a URL, and follows URL changes', async () => {
    store.apply(broker());
    store.apply(trigger('t1', { subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' } } }));
    await settle();
    expect(condition(TRIGGERS, 't1', 'SubscriberResolved')).toMatchObject({ status: 'False', reason: "Unable to get the Subscriber's URI" });
    expect(condition(TRIGGERS, 't1', 'SubscriberResolved')?.message).toMatch(/services\.serving\.knative\.dev "display" not found/);
    expect(condition(TRIGGERS, 't1', 'Ready')).toMatchObject({ status: 'False', reason: "Unable to get the Subscriber's URI" });
    expect(status(TRIGGERS, 't1').subscriberUri).toBeUndefined();

    service('display');
    await settle();
    expect(condition(TRIGGERS, 't1', 'SubscriberResolved')).toMatchObject({ status: 'False', reason: "Unable to get the Subscriber's URI" });
    expect(dispatcher.calls).toEqual([]);

    store.updateStatus(SERVICES, 'default', 'display', { url: 'http://display.default.localhost:8080', conditions: [] });
    await settle();
    expect(condition(TRIGGERS, 't1', 'Ready')?.status).toBe('True');
    expect(status(TRIGGERS, 't1').subscriberUri).toBe('http://display.default.localhost:8080');
    expect(dispatcher.live.get('default/t1')?.runtime.subscriberUri).toBe('http://display.default.localhost:8080');

    store.updateStatus(SERVICES, 'default', 'display', { url: 'http://display.default.localhost:9999', conditions: [] });
    await settle();
    expect(status(TRIGGERS, 't1').subscriberUri).toBe('http://display.default.localhost:9999');
    expect(dispatcher.live.get('default/t1')?.runtime.subscriberUri).toBe('http://display.default.localhost:9999');
    expect(dispatcher.calls).toEqual(['upsert default/t1', 'upsert default/t1']);

    store.delete(SERVICES, 'default', 'display');
    await settle();
    expect(condition(TRIGGERS, 't1', 'Ready')?.status).toBe('False');
    expect(dispatcher.calls.at(-1)).toBe('remove default/t1');
  });

  it('joins a ref and a relative uri, and resolves a Broker ref to its address', async () => {
    store.apply(broker());
    store.apply(broker('other'));
    service('display', 'http://display.default.localhost:8080');
    store.apply(trigger('joined', { subscriber: { ref: { kind: 'Service', name: 'display' }, uri: '/orders?x=1' } }));
    store.apply(trigger('chained', { subscriber: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'other' } } }));
    await settle();
    expect(status(TRIGGERS, 'joined').subscriberUri).toBe('http://display.default.localhost:8080/orders?x=1');
    expect(status(TRIGGERS, 'chained').subscriberUri).toBe(`${INGRESS}/default/other`);
  });

  it('resolves the dead-letter sink, and reports one that cannot be resolved', async () => {
    store.apply(broker());
    service('dlq', 'http://dlq.default.localhost:8080');
    store.apply(trigger('t1', { subscriber: { uri: 'http://127.0.0.1:9/sink' }, delivery: { deadLetterSink: { ref: { kind: 'Service', name: 'dlq' }, uri: '/dead' } } }));
    store.apply(trigger('t2', { subscriber: { uri: 'http://127.0.0.1:9/sink' }, delivery: { deadLetterSink: { ref: { kind: 'Service', name: 'missing' } } } }));
    await settle();
    expect(status(TRIGGERS, 't1').deadLetterSinkUri).toBe('http://dlq.default.localhost:8080/dead');
    expect(condition(TRIGGERS, 't1', 'DeadLetterSinkResolved')).toMatchObject({ status: 'True' });
    expect(condition(TRIGGERS, 't1', 'DeadLetterSinkResolved')?.reason).toBeUndefined();
    expect(dispatcher.live.get('default/t1')?.runtime.delivery.deadLetterUri).toBe('http://dlq.default.localhost:8080/dead');

    expect(condition(TRIGGERS, 't2', 'DeadLetterSinkResolved')).toMatchObject({ status: 'False', reason: "Unable to get the dead letter sink's URI" });
    expect(condition(TRIGGERS, 't2', 'Ready')?.status).toBe('False');
    expect(status(TRIGGERS, 't2').subscriberUri).toBe('http://127.0.0.1:9/sink');
    expect(dispatcher.live.has('default/t2')).toBe(false);

    service('missing', 'http://missing.default.localhost:8080');
    await settle();
    expect(condition(TRIGGERS, 't2', 'Ready')?.status).toBe('True');
    expect(status(TRIGGERS, 't2').deadLetterSinkUri).toBe('http://missing.default.localhost:8080');
  });

  it("takes the Broker's delivery by default, and a Trigger's delivery overrides it entirely", async () => {
    store.apply(broker('default', { spec: { delivery: { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://127.0.0.1:9/dlq' } } } }));
    store.apply(trigger('inherits', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    store.apply(trigger('overrides', { subscriber: { uri: 'http://127.0.0.1:9/sink' }, delivery: { retry: 1 } }));
    await settle();
    expect(dispatcher.live.get('default/inherits')?.runtime.delivery).toMatchObject({ retry: 5, backoffPolicy: 'linear', backoffDelayMs: 1000, deadLetterUri: 'http://127.0.0.1:9/dlq' });
    expect(status(TRIGGERS, 'inherits').deadLetterSinkUri).toBe('http://127.0.0.1:9/dlq');
    const over = dispatcher.live.get('default/overrides')?.runtime.delivery;
    expect(over).toMatchObject({ retry: 1, backoffPolicy: 'exponential', backoffDelayMs: 200 });
    expect(over?.deadLetterUri).toBeUndefined();
    expect(status(TRIGGERS, 'overrides').deadLetterSinkUri).toBeUndefined();
    expect(condition(TRIGGERS, 'overrides', 'DeadLetterSinkResolved')?.reason).toBe('DeadLetterSinkNotConfigured');
  });

  it('takes maxInFlight from wisp.dev/max-in-flight, default 100', async () => {
    store.apply(broker());
    store.apply(trigger('ordered', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }, { 'wisp.dev/max-in-flight': '1' }));
    store.apply(trigger('wide', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    await settle();
    expect(dispatcher.live.get('default/ordered')?.runtime.maxInFlight).toBe(1);
    expect(dispatcher.live.get('default/wide')?.runtime.maxInFlight).toBe(100);
    store.apply(trigger('wide', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }, { 'wisp.dev/max-in-flight': '250' }));
    await settle();
    expect(dispatcher.live.get('default/wide')?.runtime.maxInFlight).toBe(250);
  });

  it('hands the dispatcher the compiled filter', async () => {
    store.apply(broker());
    store.apply(trigger('attrs', { subscriber: { uri: 'http://127.0.0.1:9/sink' }, filter: { attributes: { type: 'dev.example.order' } } }));
    store.apply(trigger('sql', { subscriber: { uri: 'http://127.0.0.1:9/sink' }, filters: [{ cesql: "source LIKE '/orders%' AND region = 'eu'" }] }));
    await settle();
    const attrs = dispatcher.live.get('default/attrs')?.runtime.filter;
    expect(attrs?.(event())).toBe(true);
    expect(attrs?.(event({ type: 'dev.example.refund' }))).toBe(false);
    const sql = dispatcher.live.get('default/sql')?.runtime.filter;
    expect(sql?.(event({ region: 'eu' }))).toBe(true);
    expect(sql?.(event({ region: 'us' }))).toBe(false);
    expect(sql?.(event())).toBe(false);
  });

  it('is idempotent: reconciling again hands nothing new to the dispatcher, and a deleted Trigger is removed', async () => {
    store.apply(broker());
    store.apply(trigger('t1', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    await settle();
    const before = structuredClone(store.get(TRIGGERS, 'default', 't1'));
    clock.advance(60_000);
    // A Broker change (here: a label) re-queues its Triggers.
    store.apply({ ...broker(), metadata: { ...broker().metadata, labels: { team: 'a' } } });
    await settle();
    expect(dispatcher.calls).toEqual(['upsert default/t1']);
    expect(store.get(TRIGGERS, 'default', 't1')?.status).toEqual(before?.status);

    store.delete(TRIGGERS, 'default', 't1');
    await settle();
    expect(dispatcher.calls).toEqual(['upsert default/t1', 'remove default/t1']);
  });

  it('reports a dispatcher failure as SubscriptionReady False and retries later', async () => {
    store.apply(broker());
    dispatcher.failNext = new Error('consumer could not start');
    store.apply(trigger('t1', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    await settle();
    expect(condition(TRIGGERS, 't1', 'SubscriptionReady')).toMatchObject({ status: 'False', reason: 'NotSubscribed', message: 'consumer could not start' });
    expect(errors).toEqual(['subscribe trigger default/t1: consumer could not start']);
    clock.advance(1000);
    await settle();
    expect(condition(TRIGGERS, 't1', 'Ready')?.status).toBe('True');
    expect(dispatcher.calls).toEqual(['upsert default/t1']);
  });

  it('picks up Brokers and Triggers already in the store at start (restart)', async () => {
    reconciler.stop();
    store.apply(broker());
    store.apply(trigger('t1', { subscriber: { uri: 'http://127.0.0.1:9/sink' } }));
    const again = new EventingReconciler({ store, clock, brokerIngressUrl: INGRESS, backends: [memory], defaultBrokerClass: 'Memory', dispatcher });
    again.start();
    // Not synced until what was stored is reconciled: the ingress refuses events meanwhile (503), so none misses t1.
    expect(again.synced).toBe(false);
    await again.idle();
    expect(again.synced).toBe(true);
    expect(again.lookupBroker('default', 'default')).toBeDefined();
    expect(dispatcher.calls).toEqual(['upsert default/t1']);
    again.stop();
  });
});
