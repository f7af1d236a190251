/** `wisp logs SERVICE [-n NS] [-f]` */
import { kindByName, resourcePath } from '../../api/kinds.js';
import type { LogLine } from '../../runtime/types.js';
import { interruption, type CommandContext } from '../io.js';
import { withNotFound } from './common.js';

/** `[<revision>/<replica>] <line>`. Pure. */
export function formatLogLine(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const l = value as Partial<LogLine>;
  if (typeof l.line !== 'string') return undefined;
  return `[${l.revision ?? '?'}/${l.replica ?? '?'}] ${l.line}`;
}

export async function runLogs(ctx: CommandContext, service: string, flags: { namespace: string; follow?: boolean }): Promise<number> {
  const services = kindByName('services');
  if (!services) throw new Error('the services kind is not registered');
  const base = `${resourcePath(services, flags.namespace, service)}/log`;
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
    throw withNotFound(err, services, service);
  }
}
