import type { Registry } from 'prom-client';
import { DEFAULT_PACING, MemoryBackend } from '../../broker/backends/memory.js';
import { Dispatcher } from '../../broker/dispatcher/index.js';
import { BacklogMetrics, buildBrokerIngress } from '../../broker/ingress/index.js';
import { BrokerStartingError } from '../../broker/errors.js';
import { DEFAULT_MAX_BACKLOG, type EventBackend } from '../../broker/types.js';
import type { Clock } from '../clock.js';
import type { Sender } from '../../broker/delivery/index.js';
import type { CoreServiceDirectory } from '../control/eventing/destination.js';
import { EventingReconciler, type TriggerDispatcher } from '../control/eventing/reconciler.js';
import type { ResourceStore } from '../control/resource-store.js';
import { LazyBackend, UnconfiguredBackend } from './backends.js';
import type { Logger } from './logger.js';
import type { PlatformOptions } from './types.js';

export interface Eventing {
  readonly port: number;
  readonly reconciler: EventingReconciler;
  close(): Promise<void>;
}

/** The eventing settings of `wisp up`'s options: where the broker ingress listens and the backends' servers. */
export function eventingSettings(options: PlatformOptions) {
  return {
    host: options.host,
    port: options.brokerPort,
    defaultBrokerClass: options.brokerClass,
    redis: { url: options.redisUrl ?? 'redis://127.0.0.1:6379', prefix: options.redisPrefix ?? 'wisp' },
    kafkaBrokers: options.kafkaBrokers ?? [],
    maxBacklog: options.brokerMaxBacklog,
  };
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
  /**
   * `all` (default): ingress, dispatcher and the reconciler that writes status, in this process. `control` (the
   * controller of a split install): the reconciler only: it creates Brokers' storage (Redis sets, Kafka topics) and
   * writes every status, with Brokers' addresses on `brokerUrlBase`; no ingress, no consumers. `data` (`--component
   * broker`): the ingress and the Triggers' consumers, from what it reads; it writes no status.
   */
  role?: 'all' | 'control' | 'data';
  /**
   * The control role's dispatcher, whose upsertTrigger resolves once the data plane consumes the Trigger (a Trigger
   * is Ready after it): `--data-plane-processes` (workers.ts). Default none: the broker component's own reconciler
   * subscribes it.
   */
  controlDispatcher?: TriggerDispatcher;
}): Promise<Eventing> {
  const { store, clock, registry, log } = opts;
  const maxBacklog = opts.maxBacklog ?? DEFAULT_MAX_BACKLOG;
  // Pacing: producers are answered at the pace the Triggers deliver instead of filling the backlog (broker/backends/memory.ts).
  const memory = new MemoryBackend({ clock, maxQueued: maxBacklog, pacing: DEFAULT_PACING, onError: (err) => log.error(`memory broker: ${describe(err)}`) });
  const logger = log;
  const backends: EventBackend[] = [
    memory,
    // Imported by the first Broker of the class (backends.ts says why).
    new LazyBackend(['Redis'], async () => {
      const { RedisBackend } = await import('../../broker/backends/redis/index.js');
      return new RedisBackend({ url: opts.redis.url, prefix: opts.redis.prefix, clock, logger, maxBacklog });
    }),
    opts.kafkaBrokers.length > 0
      ? new LazyBackend(['Kafka'], async () => {
          const { KafkaBackend } = await import('../../broker/backends/kafka/index.js');
          return new KafkaBackend({ brokers: opts.kafkaBrokers, clock, logger });
        })
      : new UnconfiguredBackend(['Kafka'], 'no Kafka cluster configured: set WISP_KAFKA_BROKERS (`npm run kafka` starts a local one)'),
  ];

  const role = opts.role ?? 'all';
  const reconcilerOptions = {
    store,
    clock,
    backends,
    defaultBrokerClass: opts.defaultBrokerClass,
    defaultMaxBacklog: maxBacklog,
    ...(opts.coreServices && { coreServices: opts.coreServices }),
    onError: (what: string, err: unknown) => log.error(`${what}: ${describe(err)}`),
  };
  if (role === 'control') {
    if (opts.brokerUrlBase === undefined) throw new Error('startEventing: the control role needs brokerUrlBase (the broker ingress of the broker component)');
    // Triggers are consumed by the broker component: here they are resolved and reported, and handed to no one.
    const control = new EventingReconciler({ ...reconcilerOptions, brokerIngressUrl: opts.brokerUrlBase, dispatcher: opts.controlDispatcher ?? { upsertTrigger: async () => undefined, removeTrigger: async () => undefined } });
    control.start();
    return {
      port: 0,
      reconciler: control,
      async close() {
        control.stop();
        await Promise.all(backends.map((b) => b.close()));
      },
    };
  }

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
    ...reconcilerOptions,
    brokerIngressUrl: opts.brokerUrlBase ?? `http://${urlHost(opts.host)}:${port}`,
    dispatcher,
    // The data plane of a split install: the controller writes status and owns Redis queues and Kafka topics.
    ...(role === 'data' && { writeStatus: false, deletesStorage: (b: EventBackend) => b === memory }),
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
