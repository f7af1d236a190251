/**
 * One broker on a backend with its ingress and a dispatcher, as `wisp up` wires them, for tests that go ingress →
 * backend → dispatcher → HTTP subscriber (the delivery contract, the fidelity suite). Everything it starts is
 * registered in `cleanups`, which the caller runs (in reverse) after each test.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { resolveDelivery } from '../../broker/delivery/index.js';
import { Dispatcher } from '../../broker/dispatcher/index.js';
import { compileTriggerFilter } from '../../broker/filters/index.js';
import { buildBrokerIngress, type BrokerIngress } from '../../broker/ingress/index.js';
import type { BrokerRef, DeliverySpec, EventBackend, TriggerRuntime } from '../../broker/types.js';
import { systemClock } from '../../src/clock.js';

export interface Pipeline {
  broker: BrokerRef;
  ingress: BrokerIngress;
  /** Adds a Trigger delivering to `subscriberUri` (all events, or those of `type`). */
  addTrigger(opts: { subscriberUri: string; type?: string; delivery?: DeliverySpec; deadLetterUri?: string }): Promise<void>;
}

export async function startPipeline(backend: EventBackend, cleanups: (() => Promise<void>)[], namePrefix: string): Promise<Pipeline> {
  const broker: BrokerRef = { namespace: 'default', name: `${namePrefix}-${randomUUID().slice(0, 8)}` };
  await backend.ensureBroker(broker);
  const registry = new Registry();
  const dispatcher = new Dispatcher({
    clock: systemClock,
    registry,
    publishReply: (b, event) => backend.publish(b, event),
    logger: { info: () => undefined, warn: () => undefined },
  });
  cleanups.push(() => dispatcher.close());
  const ingress = buildBrokerIngress({
    lookup: (ns, n) => (ns === broker.namespace && n === broker.name ? { broker, backend } : undefined),
    clock: systemClock,
    registry,
  });
  cleanups.push(() => ingress.close());
  const addTrigger: Pipeline['addTrigger'] = async (opts) => {
    const tname = `t-${randomUUID().slice(0, 8)}`;
    const rt: TriggerRuntime = {
      key: `default/${tname}`,
      namespace: 'default',
      name: tname,
      broker: broker.name,
      filter: compileTriggerFilter(opts.type !== undefined ? { filter: { attributes: { type: opts.type } } } : {}),
      subscriberUri: opts.subscriberUri,
      delivery: resolveDelivery(opts.delivery, opts.deadLetterUri),
      maxInFlight: 10,
    };
    await dispatcher.upsertTrigger(rt, backend);
  };
  return { broker, ingress, addTrigger };
}
