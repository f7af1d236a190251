/** The eventing reconciler wired to the real memory backend and the real dispatcher: an applied Trigger delivers. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent } from 'cloudevents';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { MemoryBackend } from '../../../broker/backends/memory.js';
import { Dispatcher } from '../../../broker/dispatcher/index.js';
import { kindByName, type KindInfo } from '../../../src/api/kinds.js';
import { systemClock } from '../../../src/clock.js';
import { EventingReconciler, type TriggerDispatcher } from '../../../src/control/eventing/index.js';
import { Store } from '../../../src/control/store.js';
import { waitFor } from '../../support/wait.js';

const TRIGGERS = kindByName('triggers') as KindInfo;
const SERVICES = kindByName('ksvc') as KindInfo;

let store: Store;
let memory: MemoryBackend;
let dispatcher: Dispatcher;
let reconciler: EventingReconciler;
let subscriber: Server;
let subscriberUrl: string;
let received: { type: string; path: string; body: string }[];

beforeEach(async () => {
  received = [];
  subscriber = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ type: String(req.headers['ce-type']), path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202);
      res.end();
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
  subscriberUrl = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}`;

  store = await Store.open();
  memory = new MemoryBackend({ clock: systemClock, closeTimeoutMs: 2000 });
  dispatcher = new Dispatcher({ clock: systemClock, registry: new Registry(), publishReply: (b, e) => memory.publish(b, e), logger: { info: () => {}, warn: () => {} } });
  reconciler = new EventingReconciler({
    store,
    clock: systemClock,
    brokerIngressUrl: 'http://127.0.0.1:8081',
    backends: [memory],
    defaultBrokerClass: 'Memory',
    dispatcher: dispatcher satisfies TriggerDispatcher,
  });
  reconciler.start();
});

afterEach(async () => {
  reconciler.stop();
  await dispatcher.close();
  await memory.close();
  subscriber.closeAllConnections();
  await new Promise<void>((resolve) => subscriber.close(() => resolve()));
});

it('delivers matching events to the subscriber Service once its URL is known, and stops when the Trigger goes', async () => {
  store.apply({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'default' }, spec: {} });
  store.apply({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'orders', namespace: 'default' },
    spec: {
      broker: 'default',
      filter: { attributes: { type: 'dev.example.order' } },
      subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' }, uri: '/events' },
    },
  });
  store.apply({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'display', namespace: 'default' }, spec: { template: { spec: { containers: [] } } } });
  await reconciler.idle();
  expect(dispatcher.triggers()).toEqual([]);

  store.updateStatus(SERVICES, 'default', 'display', { url: subscriberUrl, conditions: [] });
  await reconciler.idle();
  expect(dispatcher.triggers()).toEqual(['default/orders']);
  expect((store.get(TRIGGERS, 'default', 'orders')?.status as { subscriberUri?: string }).subscriberUri).toBe(`${subscriberUrl}/events`);

  const target = reconciler.lookupBroker('default', 'default');
  expect(target).toBeDefined();
  await target!.backend.publish(target!.broker, new CloudEvent({ id: 'a', type: 'dev.example.refund', source: '/orders' }));
  await target!.backend.publish(target!.broker, new CloudEvent<unknown>({ id: 'b', type: 'dev.example.order', source: '/orders', data: { n: 1 } }) as CloudEvent);
  await waitFor(() => received.length === 1, { what: 'the matching event delivered' });
  expect(received[0]).toEqual({ type: 'dev.example.order', path: '/events', body: '{"n":1}' });

  store.delete(TRIGGERS, 'default', 'orders');
  await reconciler.idle();
  expect(dispatcher.triggers()).toEqual([]);
});
