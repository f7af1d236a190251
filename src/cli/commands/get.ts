/** `wisp get KIND [NAME] [-n NS | -A] [-o table|json|yaml]` */
import { apiVersionOf, kindByName, resourcePath } from '../../api/kinds.js';
import type { KObject } from '../../api/types.js';
import { UsageError } from '../errors.js';
import { tableFor, trafficByRevision } from '../format/columns.js';
import { asList, formatJson, formatYaml, type OutputFormat } from '../format/output.js';
import { formatTable } from '../format/table.js';
import type { CommandContext } from '../io.js';
import { kindArg, withNotFound } from './common.js';

export interface GetFlags {
  namespace: string;
  allNamespaces?: boolean;
  output: OutputFormat;
}

function byNamespaceAndName(a: KObject, b: KObject): number {
  return (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name);
}

export async function runGet(ctx: CommandContext, kind: string, name: string | undefined, flags: GetFlags): Promise<number> {
  const info = kindArg(kind);
  const all = flags.allNamespaces === true;
  if (all && name !== undefined) throw new UsageError('wisp get: a resource cannot be retrieved by name across all namespaces (drop -A)');
  const defaults = { apiVersion: apiVersionOf(info), kind: info.kind };

  let objects: KObject[];
  if (name !== undefined) {
    let obj: KObject;
    try {
      obj = await ctx.client.get(resourcePath(info, flags.namespace, name));
    } catch (err) {
      throw withNotFound(err, info, name);
    }
    obj = { ...obj, apiVersion: obj.apiVersion ?? defaults.apiVersion, kind: obj.kind ?? defaults.kind };
    if (flags.output === 'json') return (ctx.out(formatJson(obj)), 0);
    if (flags.output === 'yaml') return (ctx.out(formatYaml(obj)), 0);
    objects = [obj];
  } else {
    objects = (await ctx.client.list(all ? resourcePath(info) : resourcePath(info, flags.namespace), defaults)).sort(byNamespaceAndName);
    if (flags.output === 'json') return (ctx.out(formatJson(asList(objects))), 0);
    if (flags.output === 'yaml') return (ctx.out(formatYaml(asList(objects))), 0);
    if (objects.length === 0) {
      ctx.err(all ? 'No resources found' : `No resources found in ${flags.namespace} namespace.`);
      return 0;
    }
  }

  let traffic;
  if (info.kind === 'Revision') {
    const services = kindByName('services');
    if (services) traffic = trafficByRevision(await ctx.client.list(all ? resourcePath(services) : resourcePath(services, flags.namespace)));
  }
  const table = tableFor(info, objects, { now: ctx.clock.now(), allNamespaces: all, ...(traffic ? { traffic } : {}) });
  ctx.out(formatTable(table.headers, table.rows));
  return 0;
}
