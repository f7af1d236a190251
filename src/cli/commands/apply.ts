/** `wisp apply -f PATH|- [-f ...] [--wait] [--timeout 60s]` */
import { kindOf, qualifiedSingular, resourcePath } from '../../api/kinds.js';
import { loadManifests } from '../../api/load.js';
import { parseDuration } from '../config.js';
import { CLI_DEFAULTS } from '../defaults.js';
import { ApiError, UsageError } from '../errors.js';
import { readAll, type CommandContext } from '../io.js';
import { WAITABLE_KINDS, waitReady, type WaitTarget } from './wait.js';

export interface ApplyFlags {
  file?: string[];
  wait?: boolean;
  timeout?: string;
}

export async function runApply(ctx: CommandContext, flags: ApplyFlags): Promise<number> {
  const files = flags.file ?? [];
  if (files.length === 0) throw new UsageError('wisp apply: -f PATH is required (a file, a folder, or - for stdin)');
  const timeoutMs = flags.timeout !== undefined ? parseDuration(flags.timeout, '--timeout') : CLI_DEFAULTS.waitTimeoutMs;

  const stdin = files.includes('-') ? await readAll(ctx.io.stdin) : undefined;
  const { objects } = await loadManifests(files, stdin !== undefined ? { stdin } : {});
  if (objects.length === 0) {
    ctx.err(`wisp apply: no objects found in ${files.join(', ')}`);
    return 1;
  }

  let failed = false;
  const waitFor: WaitTarget[] = [];
  for (const { object, source } of objects) {
    const info = kindOf(object.apiVersion, object.kind);
    if (!info) {
      ctx.err(`wisp apply: ${source}: unknown kind ${object.apiVersion}/${object.kind}`);
      failed = true;
      continue;
    }
    const namespace = object.metadata.namespace ?? CLI_DEFAULTS.namespace;
    try {
      const res = await ctx.client.put(resourcePath(info, namespace, object.metadata.name), object);
      for (const w of res.warnings) ctx.err(`Warning: ${w}`);
      ctx.out(`${qualifiedSingular(info)}/${object.metadata.name} ${res.result}`);
      if (WAITABLE_KINDS.has(info.kind)) waitFor.push({ info, namespace, name: object.metadata.name });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      for (const line of err.lines()) ctx.err(line);
      failed = true;
    }
  }

  if (flags.wait === true && waitFor.length > 0) {
    const ready = await waitReady(ctx, waitFor, timeoutMs);
    if (!ready) failed = true;
  }
  return failed ? 1 : 0;
}
