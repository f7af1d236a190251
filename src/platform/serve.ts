/**
 * `--serve-engine haproxy` in the composition root: where it may run, its binary, the engine object the autoscaler
 * (scale gate, decisions) and the activator (internal port, RoutingSink in front of it) are wired to.
 */
import { join } from 'node:path';
import type { HttpLimitsInput } from '../../core/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from './logger.js';
import { ServeEngine, ServeEngineModeError, findHaproxy } from './serve-engine/index.js';
import type { PlatformOptions } from './types.js';

/**
 * The activator behind haproxy: every connection comes from 127.0.0.1 (haproxy), so the per-client cap would cap all
 * clients together; haproxy's own maxconn (4000) bounds them instead.
 */
export const ACTIVATOR_BEHIND_ENGINE_LIMITS: HttpLimitsInput = { maxConnectionsPerClient: 4096 };

/** The serve engine runs in one process that owns both the ingress port and the routing table: embedded, `all`. */
export function assertServeEngineFits(options: PlatformOptions): void {
  if (options.serveEngine === undefined) return;
  if ((options.runtime ?? 'embedded') !== 'embedded') {
    throw new ServeEngineModeError('wisp up: --serve-engine haproxy runs only in embedded mode (the local runtime); with --runtime kubernetes the activator Deployment is the ingress (use --serve-engine none)');
  }
  const component = options.component ?? 'all';
  if (component !== 'all') {
    throw new ServeEngineModeError(`wisp up: --serve-engine haproxy runs only with --component all (the process that owns the ingress port and the routing table), not --component ${component}`);
  }
  // haproxy owns the one ingress port and hands cold hosts to one activator; N data-plane workers sharing that port
  // would each need their own internal activator port behind it. Refused until that is built.
  if ((options.dataPlaneProcesses ?? 1) > 1) {
    throw new ServeEngineModeError(`wisp up: --serve-engine haproxy and --data-plane-processes ${options.dataPlaneProcesses} do not combine yet (haproxy fronts one activator); use one of them`);
  }
}

export interface PreparedServeEngine extends ServeEngine {
  readonly activatorLimits: HttpLimitsInput;
}

/** The engine (not started) when `serveEngine` is set; throws ServeEngineBinaryError when haproxy cannot be found. */
export async function prepareServeEngine(options: PlatformOptions, ctx: { stateDir: string; clock: Clock; log: Logger }): Promise<PreparedServeEngine | undefined> {
  const o = options.serveEngine;
  if (o === undefined) return undefined;
  const binary = await findHaproxy({ ...(o.binary !== undefined && { explicit: o.binary }), pathEnv: process.env['PATH'] ?? '' });
  const engine = new ServeEngine({ binary, threads: o.threads ?? 1, dir: join(ctx.stateDir, 'haproxy'), clock: ctx.clock, log: ctx.log });
  return Object.assign(engine, { activatorLimits: ACTIVATOR_BEHIND_ENGINE_LIMITS });
}
