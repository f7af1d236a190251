import type { Registry } from 'prom-client';
import { KafkaBackend, MemoryBackend, RedisBackend } from '../../broker/backends/index.js';
import { Dispatcher } from '../../broker/dispatcher/index.js';
import { BacklogMetrics, buildBrokerIngress } from '../../broker/ingress/index.js';
import { BrokerStartingError } from '../../broker/errors.js';
import { DEFAULT_MAX_BACKLOG, type EventBackend } from '../../broker/types.js';
import type { Clock } from '../clock.js';
import type { Sender } from '../../broker/delivery/index.js';
import type { CoreServiceDirectory } from '../control/eventing/destination.js';
import { EventingReconciler } from '../control/eventing/reconciler.js';
import type { ResourceStore } from '../control/resource-store.js';
import { LazyBackend, UnconfiguredBackend } from './backends.js';
import type { Logger } from './logger.js';

export interface Eventing {
  readonly port: number;
  readonly reconciler: EventingReconciler;
  close(): Promise<void>;
}

/**
 * Eventing for `wisp up`: the broker ingress, the backends (Memory / MTChannelBasedBroker in memory; Redis on
 * BullMQ, connected when first used; Kafka when WISP_KAFKA_BROKERS is set),
 * the dispatcher (one consumer per Trigger) and the reconciler that connects them to the store.
 */
export async function startEventing(opts: {
  store: ResourceStore;
  clock: Clock;
  registry: Registry;
  host: string;
  port: number;
  defaultBrokerClass: string;
  redis: { url: string; prefix: string };
  /** Bootstrap servers; empty: the Kafka class reports how to configure it. */
  kafkaBrokers: string[];
  /** Events waiting per Trigger (Memory, Redis) for Brokers without `wisp.dev/max-backlog` (default 10 000). */
  maxBacklog?: number;
  log: Logger;
  /** How deliveries are sent (the caller closes it after close()); default an HttpSender of the dispatcher's own. */
  sender?: Sender;
  /** The cluster's v1 Services (Kubernetes mode), for subscribers that name one. */
  coreServices?: CoreServiceDirectory;
  /** Base of Brokers' addresses (`<base>/<ns>/<name>`); default the ingress's own URL. */
  brokerUrlBase?: string;
}): Promise<Eventing> {
  const { store, clock, registry, log } = opts;
  const maxBacklog = opts.maxBacklog ?? DEFAULT_MAX_BACKLOG;
  const memory = new MemoryBackend({ clock, maxQueued: maxBacklog, onError: (err) => log.error(`memory broker: ${describe(err)}`) });
  const logger = log;
  const backends: EventBackend[] = [
    memory,
    new LazyBackend(['Redis'], () => new RedisBackend({ url: opts.redis.url, prefix: opts.redis.prefix, clock, logger, maxBacklog })),
    opts.kafkaBrokers.length > 0
      ? new LazyBackend(['Kafka'], () => new KafkaBackend({ brokers: opts.kafkaBrokers, clock, logger }))
      : new UnconfiguredBackend(['Kafka'], 'no Kafka cluster configured: set WISP_KAFKA_BROKERS (`npm run kafka` starts a local one)'),
  ];

  // Replies re-enter the broker that delivered the original event, through its backend.
  let reconciler: EventingReconciler | undefined;
  const dispatcher = new Dispatcher({
    clock,
    registry,
    logger: log,
    ...(opts.sender && { sender: opts.sender }),
    publishReply: async (broker, event) => {
      const found = reconciler?.lookupBroker(broker.namespace, broker.name);
      if (!found) throw new Error(`broker ${broker.namespace}/${broker.name} is gone; reply ${event.id} dropped`);
      await found.backend.publish(found.broker, event);
    },
  });

  const ingress = buildBrokerIngress({
    // Until the stored Brokers and Triggers are restored after a start: a broker not reconciled yet answers 503 +
    // Retry-After (not 404), and so does a Memory broker, whose Triggers keep nothing until they are subscribed again
    // (an event accepted then would be dropped for them). Redis and Kafka keep every Trigger's events in its queue or
    // consumer group whether its consumer runs or not, so they take events as soon as their broker is routable.
    lookup: (namespace, name) => {
      const found = reconciler?.lookupBroker(namespace, name);
      if (reconciler?.synced !== true && (found === undefined || found.backend === memory)) throw new BrokerStartingError();
      return found;
    },
    clock,
    registry,
    onError: (err) => log.error(`broker ingress: ${describe(err)}`),
  });
  try {
    await ingress.listen({ port: opts.port, host: opts.host });
  } catch (err) {
    await dispatcher.close();
    await Promise.all(backends.map((b) => b.close()));
    throw err;
  }
  const address = ingress.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;

  reconciler = new EventingReconciler({
    store,
    clock,
    brokerIngressUrl: opts.brokerUrlBase ?? `http://${urlHost(opts.host)}:${port}`,
    backends,
    defaultBrokerClass: opts.defaultBrokerClass,
    dispatcher,
    defaultMaxBacklog: maxBacklog,
    ...(opts.coreServices && { coreServices: opts.coreServices }),
    onError: (what, err) => log.error(`${what}: ${describe(err)}`),
  });
  reconciler.start();
  const started = reconciler;
  new BacklogMetrics(registry, () => started.backlogSnapshot());

  return {
    port,
    reconciler: started,
    async close() {
      started.stop();
      await ingress.close(); // no new events
      await dispatcher.close(); // deliveries in flight finish (bounded)
      await Promise.all(backends.map((b) => b.close()));
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
