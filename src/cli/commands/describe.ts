/** `wisp describe KIND NAME [-n NS]` */
import { apiVersionOf, kindByName, resourcePath } from '../../api/kinds.js';
import type { KObject } from '../../api/types.js';
import { SERVICE_LABEL } from '../format/columns.js';
import { describeObject } from '../format/describe.js';
import type { CommandContext } from '../io.js';
import { kindArg, withNotFound } from './common.js';

export async function runDescribe(ctx: CommandContext, kind: string, name: string, flags: { namespace: string }): Promise<number> {
  const info = kindArg(kind);
  let obj: KObject;
  try {
    obj = await ctx.client.get(resourcePath(info, flags.namespace, name));
  } catch (err) {
    throw withNotFound(err, info, name);
  }
  obj = { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(info), kind: obj.kind ?? info.kind };
  let revisions: KObject[] | undefined;
  const revisionKind = kindByName('revisions');
  if (info.kind === 'Service' && revisionKind) {
    const all = await ctx.client.list(resourcePath(revisionKind, obj.metadata.namespace ?? flags.namespace));
    revisions = all.filter((r) => r.metadata.labels?.[SERVICE_LABEL] === obj.metadata.name);
  }
  ctx.out(describeObject(obj, { now: ctx.clock.now(), ...(revisions ? { revisions } : {}) }));
  return 0;
}
