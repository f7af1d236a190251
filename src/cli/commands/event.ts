/** `wisp event send --broker NAME [-n NS] --type T --source S [--id ID] [--data JSON|@file] [--extension k=v]... [--mode binary|structured]` */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { kindByName, resourcePath } from '../../api/kinds.js';
import { CliError, UsageError } from '../errors.js';
import { conditionsOf } from '../format/columns.js';
import type { CommandContext } from '../io.js';
import { kindArg, withNotFound } from './common.js';

export interface EventSendFlags {
  broker: string;
  namespace: string;
  type: string;
  source: string;
  id?: string;
  data?: string;
  extension?: string[];
  mode: 'binary' | 'structured';
  timeout: string;
}

/** Default for `--timeout`: how long the broker ingress may take to answer. */
export const EVENT_SEND_TIMEOUT = '10s';

/** CloudEvents attribute names: lower-case letters and digits, at most 20 (CloudEvents 1.0 §naming). */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
const CONTEXT_ATTRIBUTES = new Set(['id', 'source', 'specversion', 'type', 'datacontenttype', 'dataschema', 'subject', 'time', 'data', 'data_base64']);

/** `--extension k=v` values as a map; misuse when malformed. */
export function parseExtensions(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of values) {
    const eq = raw.indexOf('=');
    const name = eq < 0 ? raw : raw.slice(0, eq);
    if (eq < 0) throw new UsageError(`wisp event send: invalid --extension "${raw}": want name=value`);
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new UsageError(`wisp event send: invalid --extension "${raw}": the name must be 1-20 lower-case letters or digits`);
    }
    if (CONTEXT_ATTRIBUTES.has(name)) {
      throw new UsageError(`wisp event send: invalid --extension "${raw}": "${name}" is a CloudEvents context attribute; use its own flag`);
    }
    out[name] = raw.slice(eq + 1);
  }
  return out;
}

/** `10s`, `1500ms`, `2m` → milliseconds; misuse when malformed. */
export function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`wisp event send: invalid --timeout "${text}": want a duration like 10s, 1500ms or 2m`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
  if (ms <= 0) throw new UsageError(`wisp event send: invalid --timeout "${text}": must be more than 0`);
  return ms;
}

/** The event's data and content type: valid JSON → application/json, otherwise text/plain; `@file` reads a file. */
export async function eventData(flag: string | undefined): Promise<{ data?: unknown; datacontenttype?: string }> {
  if (flag === undefined) return {};
  let text = flag;
  if (flag.startsWith('@')) {
    const path = resolvePath(flag.slice(1));
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new CliError(`wisp event send: cannot read --data file ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  try {
    return { data: JSON.parse(text) as unknown, datacontenttype: 'application/json' };
  } catch {
    return { data: text, datacontenttype: 'text/plain' };
  }
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The reason a broker ingress gave: a JSON `message`/`error`, else the first line of the body, else the status text. */
function reasonOf(text: string, statusText: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return statusText || 'no reason given';
  try {
    const body = record(JSON.parse(trimmed));
    for (const k of ['message', 'error', 'reason']) if (typeof body[k] === 'string' && body[k] !== '') return body[k];
  } catch {
    // not JSON: the text itself
  }
  return trimmed.split('\n')[0] ?? trimmed;
}

export async function runEventSend(ctx: CommandContext, flags: EventSendFlags): Promise<number> {
  const extensions = parseExtensions(flags.extension ?? []);
  const timeoutMs = parseTimeout(flags.timeout);
  if (flags.mode !== 'binary' && flags.mode !== 'structured') {
    throw new UsageError(`wisp event send: invalid --mode "${String(flags.mode)}": want binary or structured`);
  }
  const info = kindByName('brokers.eventing.knative.dev') ?? kindArg('brokers');
  const where = `${flags.namespace}/${flags.broker}`;
  let broker;
  try {
    broker = await ctx.client.get(resourcePath(info, flags.namespace, flags.broker));
  } catch (err) {
    throw withNotFound(err, info, flags.broker);
  }
  const ready = conditionsOf(broker).find((c) => c.type === 'Ready');
  const url = record(record(broker.status).address).url;
  if (ready?.status !== 'True' || typeof url !== 'string' || url === '') {
    const why = ready ? [ready.reason ?? ready.status, ready.message].filter((s) => s !== undefined && s !== '').join(': ') : 'it has not been reconciled yet';
    throw new CliError(`wisp event send: broker ${where} is not ready (${why})`);
  }

  const data = await eventData(flags.data);
  let event: CloudEvent<unknown>;
  try {
    event = new CloudEvent<unknown>({ specversion: '1.0', id: flags.id ?? randomUUID(), type: flags.type, source: flags.source, ...data, ...extensions });
  } catch (err) {
    throw new UsageError(`wisp event send: invalid event: ${err instanceof Error ? err.message : String(err)}`);
  }
  const message = flags.mode === 'structured' ? HTTP.structured(event) : HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers)) if (v !== undefined) headers[k] = String(v);
  const body = typeof message.body === 'string' || message.body instanceof Uint8Array ? message.body : message.body === undefined ? undefined : JSON.stringify(message.body);

  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'POST', headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw new CliError(
      timedOut
        ? `wisp event send: the broker ingress at ${url} did not answer within ${timeoutMs} ms`
        : `wisp event send: cannot reach the broker ingress at ${url}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`,
      { cause: err, retriable: true },
    );
  }
  if (res.status >= 400) throw new CliError(`Error from broker (${res.status}): ${reasonOf(text, res.statusText)}`, { retriable: res.status >= 500 });
  ctx.out(`event ${event.id} accepted by broker ${where}`);
  return 0;
}
