/** `wisp delete -f PATH... | KIND NAME... [-n NS]` */
import { loadManifests } from '../../api/load.js';
import { kindOf, qualifiedSingular, resourcePath, type KindInfo } from '../../api/kinds.js';
import { ApiError, UsageError } from '../errors.js';
import { readAll, type CommandContext } from '../io.js';
import { kindArg, withNotFound } from './common.js';

export interface DeleteFlags {
  file?: string[];
  namespace: string;
}

export async function runDelete(ctx: CommandContext, args: string[], flags: DeleteFlags): Promise<number> {
  const files = flags.file ?? [];
  const targets: { info: KindInfo; namespace: string; name: string }[] = [];
  if (files.length > 0) {
    if (args.length > 0) throw new UsageError('wisp delete: give either -f PATH or KIND NAME, not both');
    const stdin = files.includes('-') ? await readAll(ctx.io.stdin) : undefined;
    const { objects } = await loadManifests(files, stdin !== undefined ? { stdin } : {});
    for (const { object } of objects) {
      const info = kindOf(object.apiVersion, object.kind);
      if (info) targets.push({ info, namespace: object.metadata.namespace ?? flags.namespace, name: object.metadata.name });
    }
  } else {
    const [kind, ...names] = args;
    if (kind === undefined || names.length === 0) throw new UsageError('wisp delete: give -f PATH or KIND NAME (e.g. wisp delete ksvc hello)');
    const info = kindArg(kind);
    for (const name of names) targets.push({ info, namespace: flags.namespace, name });
  }

  let failed = false;
  for (const t of targets) {
    try {
      await ctx.client.delete(resourcePath(t.info, t.namespace, t.name));
      ctx.out(`${qualifiedSingular(t.info)} "${t.name}" deleted`);
    } catch (err) {
      const e = withNotFound(err, t.info, t.name);
      if (!(e instanceof ApiError)) throw e;
      for (const line of e.lines()) ctx.err(line);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
