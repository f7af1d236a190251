/**
 * The composition root's entry to `--data-plane-processes N` (workers.ts): the workers' settings from `wisp up`'s
 * options, kept out of index.ts.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Autoscaler } from '../../autoscaler/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from './logger.js';
import { urlHost } from './process.js';
import type { Seams } from './seams.js';
import type { PlatformOptions } from './types.js';
import { DataPlaneStartError, DataPlaneWorkers } from './workers.js';

export async function startDataPlaneWorkers(
  options: PlatformOptions,
  ctx: { seams: Seams; clock: Clock; log: Logger; autoscaler: Autoscaler; registry: Registry; brokerUrlBase?: string },
): Promise<DataPlaneWorkers & { brokerUrl: string }> {
  const count = options.dataPlaneProcesses ?? 1;
  if (ctx.seams.mode !== 'embedded') {
    throw new DataPlaneStartError(`--data-plane-processes ${count}: the embedded runtime only; on Kubernetes scale the activator and broker Deployments (--component activator|broker)`);
  }
  const pool = await DataPlaneWorkers.start({
    count,
    clock: ctx.clock,
    log: ctx.log,
    store: ctx.seams.store,
    autoscaler: ctx.autoscaler,
    worker: {
      host: options.host,
      ingressPort: options.ingressPort,
      brokerPort: options.brokerPort,
      // Until the broker port is bound (it may be 0) workers name Brokers by it; the primary's control role writes
      // the addresses users see.
      brokerUrlBase: ctx.brokerUrlBase ?? `http://${urlHost(options.host)}:${options.brokerPort}`,
      defaultBrokerClass: options.brokerClass,
      redis: { url: options.redisUrl ?? 'redis://127.0.0.1:6379', prefix: options.redisPrefix ?? 'wisp' },
      kafkaBrokers: options.kafkaBrokers ?? [],
      ...(options.brokerMaxBacklog !== undefined && { maxBacklog: options.brokerMaxBacklog }),
      logLevel: options.logLevel ?? 'info',
      logFormat: options.logFormat ?? 'text',
    },
  });
  // /metrics shows the data plane as one: the workers' activator and broker series (their registries, which no
  // name of this process's collides with), summed over the workers by prom-client's cluster aggregation (counters,
  // histograms and gauges alike: queued and in-flight requests add up too). A restarting worker is left out until
  // it is back, its counters starting again from 0, which Prometheus reads as a counter reset.
  const aggregator = new AggregatorRegistry();
  const own = ctx.registry.metrics.bind(ctx.registry);
  ctx.registry.metrics = async () => {
    const [mine, theirs] = await Promise.all([own(), aggregator.clusterMetrics().catch((err: unknown) => {
      ctx.log.warn(`/metrics: the data-plane workers' metrics are left out: ${err instanceof Error ? err.message : String(err)}`);
      return '';
    })]);
    return theirs === '' ? mine : `${mine.trimEnd()}\n${theirs}`;
  };
  const brokerUrl = ctx.brokerUrlBase ?? `http://${urlHost(options.host)}:${pool.ports.broker}`;
  return Object.assign(pool, { brokerUrl });
}
