/** `wisp logs SERVICE [-n NS] [-f]`, and `wisp logs containersource NAME` for a ContainerSource's process. */
import { kindByName, resourcePath } from '../../api/kinds.js';
import type { LogLine } from '../../runtime/types.js';
import { interruption, type CommandContext } from '../io.js';
import { withNotFound } from './common.js';
import { UsageError } from '../errors.js';

/** `[<revision>/<replica>] <line>`. Pure. */
export function formatLogLine(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const l = value as Partial<LogLine>;
  if (typeof l.line !== 'string') return undefined;
  return `[${l.revision ?? '?'}/${l.replica ?? '?'}] ${l.line}`;
}

/** Kinds whose objects have logs: a Service (its replicas) and a ContainerSource (its process). */
const LOG_KINDS: ReadonlySet<string> = new Set(['Service', 'ContainerSource']);

/** `wisp logs NAME` (a Service) or `wisp logs KIND NAME` (`containersource`, or `service`/`ksvc`). */
export async function runLogs(ctx: CommandContext, target: { kind?: string; name: string }, flags: { namespace: string; follow?: boolean }): Promise<number> {
  const info = kindByName(target.kind ?? 'services');
  if (!info || !LOG_KINDS.has(info.kind)) {
    throw new UsageError(`wisp logs: "${target.kind ?? ''}" has no logs; give a Service name, or "containersource NAME"`);
  }
  const base = `${resourcePath(info, flags.namespace, target.name)}/log`;
  try {
    if (flags.follow !== true) {
      for (const value of await ctx.client.getNdjson(base)) {
        const text = formatLogLine(value);
        if (text !== undefined) ctx.out(text);
      }
      return 0;
    }
    const stop = interruption(ctx.io);
    try {
      for await (const value of ctx.client.stream(`${base}?follow=true`, stop.signal)) {
        const text = formatLogLine(value);
        if (text !== undefined) ctx.out(text);
      }
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    } finally {
      stop.dispose();
    }
    return 0;
  } catch (err) {
    throw withNotFound(err, info, target.name);
  }
}
