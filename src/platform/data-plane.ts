/**
 * The composition root's entry to `--data-plane-processes N` (workers.ts): the workers' settings from `wisp up`'s
 * options, kept out of index.ts.
 */
import type { Autoscaler } from '../../autoscaler/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from './logger.js';
import { urlHost } from './process.js';
import type { Seams } from './seams.js';
import type { PlatformOptions } from './types.js';
import { DataPlaneStartError, DataPlaneWorkers } from './workers.js';

export async function startDataPlaneWorkers(
  options: PlatformOptions,
  ctx: { seams: Seams; clock: Clock; log: Logger; autoscaler: Autoscaler; brokerUrlBase?: string },
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
  const brokerUrl = ctx.brokerUrlBase ?? `http://${urlHost(options.host)}:${pool.ports.broker}`;
  return Object.assign(pool, { brokerUrl });
}
