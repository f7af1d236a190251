/**
 * `apply --wait`: polls each Service, Broker, Trigger and source until it is Ready, or time runs out. A Service,
 * Broker or Trigger whose Ready turns False has failed. A source whose Ready is False is still waited for: sources
 * retry by themselves (a sink applied a moment later, Kafka coming up, a process in back-off), so False is progress
 * shown with its reason until the deadline.
 */
import { resourcePath, type KindInfo } from '../../api/kinds.js';
import type { KObject } from '../../api/types.js';
import { sleep } from '../../clock.js';
import { CLI_DEFAULTS } from '../defaults.js';
import { ApiError } from '../errors.js';
import { conditionsOf } from '../format/columns.js';
import type { CommandContext } from '../io.js';

export const WAITABLE_KINDS: ReadonlySet<string> = new Set(['Service', 'Broker', 'Trigger', 'PingSource', 'ApiServerSource', 'KafkaSource', 'ContainerSource', 'SinkBinding']);

/** Kinds whose Ready=False is not final: they keep retrying until they are Ready. */
const RETRYING_KINDS: ReadonlySet<string> = new Set(['PingSource', 'ApiServerSource', 'KafkaSource', 'ContainerSource', 'SinkBinding']);

export interface WaitTarget {
  info: KindInfo;
  namespace: string;
  name: string;
}

export type ReadyState = { state: 'ready'; url?: string } | { state: 'failed'; reason: string; message: string } | { state: 'waiting'; detail: string };

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Where an object stands on its way to Ready. Pure. */
export function readyState(obj: KObject): ReadyState {
  const status = record(obj.status);
  const observed = status.observedGeneration;
  const generation = obj.metadata.generation;
  if (typeof observed === 'number' && typeof generation === 'number' && observed < generation) {
    return { state: 'waiting', detail: `generation ${generation} not observed yet` };
  }
  const ready = conditionsOf(obj).find((c) => c.type === 'Ready');
  if (ready?.status === 'True') {
    const url = typeof status.url === 'string' ? status.url : record(status.address).url;
    return typeof url === 'string' ? { state: 'ready', url } : { state: 'ready' };
  }
  if (ready?.status === 'False' && !RETRYING_KINDS.has(obj.kind)) return { state: 'failed', reason: ready.reason ?? 'Failed', message: ready.message ?? '' };
  const detail = [ready?.reason, ready?.message].filter((s) => s !== undefined && s !== '').join(': ');
  return { state: 'waiting', detail };
}

/** Waits for every target in turn within one deadline; prints progress; true when all became Ready. */
export async function waitReady(ctx: CommandContext, targets: readonly WaitTarget[], timeoutMs: number): Promise<boolean> {
  const deadline = ctx.clock.now() + timeoutMs;
  let ok = true;
  for (const t of targets) {
    const label = `${t.info.singular} ${t.name}`;
    let lastDetail: string | undefined;
    for (;;) {
      let obj: KObject;
      try {
        obj = await ctx.client.get(resourcePath(t.info, t.namespace, t.name));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        for (const line of err.lines()) ctx.err(line);
        ok = false;
        break;
      }
      const s = readyState(obj);
      if (s.state === 'ready') {
        ctx.out(s.url !== undefined ? `${label} ready at ${s.url}` : `${label} ready`);
        break;
      }
      if (s.state === 'failed') {
        ctx.err(`${label} failed: ${s.reason}${s.message !== '' ? `: ${s.message}` : ''}`);
        ok = false;
        break;
      }
      if (s.detail !== lastDetail) {
        ctx.out(s.detail !== '' ? `${label}: waiting (${s.detail})` : `${label}: waiting`);
        lastDetail = s.detail;
      }
      const left = deadline - ctx.clock.now();
      if (left <= 0) {
        ctx.err(`${label}: not ready after ${timeoutMs < 1000 ? `${timeoutMs}ms` : `${Math.round(timeoutMs / 1000)}s`}${s.detail !== '' ? ` (${s.detail})` : ''}`);
        ok = false;
        break;
      }
      await sleep(ctx.clock, Math.min(CLI_DEFAULTS.waitPollMs, left));
    }
  }
  return ok;
}
