import type { Registry } from 'prom-client';
import { MemoryBackend } from '../../broker/backends/index.js';
import { Dispatcher } from '../../broker/dispatcher/index.js';
import { buildBrokerIngress } from '../../broker/ingress/index.js';
import type { EventBackend } from '../../broker/types.js';
import type { Clock } from '../clock.js';
import { EventingReconciler } from '../control/eventing/reconciler.js';
import type { Store } from '../control/store.js';
import type { Logger } from './logger.js';

export interface Eventing {
  readonly port: number;
  readonly reconciler: EventingReconciler;
  close(): Promise<void>;
}

/**
 * Eventing for `wisp up`: the broker ingress, the in-memory backend (Memory / MTChannelBasedBroker),
 * the dispatcher (one consumer per Trigger) and the reconciler that connects them to the store.
 */
export async function startEventing(opts: {
  store: Store;
  clock: Clock;
  registry: Registry;
  host: string;
  port: number;
  defaultBrokerClass: string;
  log: Logger;
}): Promise<Eventing> {
  const { store, clock, registry, log } = opts;
  const memory = new MemoryBackend({ clock, onError: (err) => log.error(`memory broker: ${describe(err)}`) });
  const backends: EventBackend[] = [memory];

  // Replies re-enter the broker that delivered the original event, through its backend.
  let reconciler: EventingReconciler | undefined;
  const dispatcher = new Dispatcher({
    clock,
    registry,
    logger: log,
    publishReply: async (broker, event) => {
      const found = reconciler?.lookupBroker(broker.namespace, broker.name);
      if (!found) throw new Error(`broker ${broker.namespace}/${broker.name} is gone; reply ${event.id} dropped`);
      await found.backend.publish(found.broker, event);
    },
  });

  const ingress = buildBrokerIngress({
    lookup: (namespace, name) => reconciler?.lookupBroker(namespace, name),
    clock,
    registry,
  });
  try {
    await ingress.listen({ port: opts.port, host: opts.host });
  } catch (err) {
    await dispatcher.close();
    await memory.close();
    throw err;
  }
  const address = ingress.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;

  reconciler = new EventingReconciler({
    store,
    clock,
    brokerIngressUrl: `http://${urlHost(opts.host)}:${port}`,
    backends,
    defaultBrokerClass: opts.defaultBrokerClass,
    dispatcher,
    onError: (what, err) => log.error(`${what}: ${describe(err)}`),
  });
  reconciler.start();
  const started = reconciler;

  return {
    port,
    reconciler: started,
    async close() {
      started.stop();
      await ingress.close(); // no new events
      await dispatcher.close(); // deliveries in flight finish (bounded)
      await memory.close();
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** A wildcard bind address is not something a client can connect to; URLs then name loopback. */
function urlHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}
