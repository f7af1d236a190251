/** `wisp describe` text, like kubectl describe. Pure. */
import { DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_ANNOTATION } from '../../../broker/types.js';
import { BROKER_CLASS_ANNOTATION } from '../../api/labels.js';
import type { Container, KObject, RevisionSpec, ServiceStatus, TrafficTarget } from '../../api/types.js';
import { age } from './age.js';
import { conditionsOf, CONFIGURATION_GENERATION_LABEL, readiness, trafficByRevision } from './columns.js';
import { formatYaml } from './output.js';
import { formatTable } from './table.js';

export interface DescribeContext {
  now: number;
  /** For a Service: its revisions. */
  revisions?: readonly KObject[];
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function indent(text: string, by: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}

/** `Key:  value` lines with the values aligned; multi-line values continue under the first. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1)) + 2;
  return pairs
    .map(([k, v]) => {
      const [first = '', ...more] = v.split('\n');
      return [`${(k + ':').padEnd(width)}${first}`.trimEnd(), ...more.map((m) => ' '.repeat(width) + m)].join('\n');
    })
    .join('\n');
}

function mapLines(m: Record<string, string> | undefined, sep: string): string {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}${sep}${v}`).join('\n');
}

function section(title: string, table: { headers: string[]; rows: string[][] }, empty = '<none>'): string {
  if (table.rows.length === 0) return `${title}:  ${empty}`;
  return `${title}:\n${indent(formatTable(table.headers, table.rows), '  ')}`;
}

function conditionsSection(obj: KObject): string {
  const rows = conditionsOf(obj).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']);
  return section('Conditions', { headers: ['TYPE', 'STATUS', 'REASON', 'MESSAGE'], rows });
}

function containerFields(c: Container | undefined): [string, string][] {
  if (!c) return [];
  const out: [string, string][] = [];
  if (c.image !== undefined) out.push(['Image', c.image]);
  if (c.command !== undefined || c.args !== undefined) out.push(['Command', [...(c.command ?? []), ...(c.args ?? [])].join(' ')]);
  if (c.workingDir !== undefined) out.push(['Working Dir', c.workingDir]);
  if (c.env && c.env.length > 0) out.push(['Env', c.env.map((e) => `${e.name}=${e.value ?? ''}`).join('\n')]);
  return out;
}

function serviceHighlights(obj: KObject, ctx: DescribeContext): string[] {
  const status = record(obj.status) as ServiceStatus;
  const traffic = (status.traffic ?? []) as TrafficTarget[];
  const out = [
    fields([
      ['URL', status.url ?? '<none>'],
      ['Latest Created', status.latestCreatedRevisionName ?? '<none>'],
      ['Latest Ready', status.latestReadyRevisionName ?? '<none>'],
    ]),
  ];
  const trafficRows = traffic.map((t) => [
    `${t.percent ?? 0}%`,
    t.revisionName ?? status.latestReadyRevisionName ?? '',
    t.latestRevision ? '@latest' : '',
    t.tag ?? '',
    t.url ?? '',
  ]);
  out.push(section('Traffic', { headers: ['PERCENT', 'REVISION', 'LATEST', 'TAG', 'URL'], rows: trafficRows }));
  const shares = trafficByRevision([obj]);
  const revRows = [...(ctx.revisions ?? [])]
    .sort((a, b) => b.metadata.name.localeCompare(a.metadata.name))
    .map((r) => {
      const s = record(r.status);
      const share = shares.get(`${r.metadata.namespace}/${r.metadata.name}`);
      const replicas = s.actualReplicas !== undefined || s.desiredReplicas !== undefined ? `${String(s.actualReplicas ?? 0)}/${String(s.desiredReplicas ?? 0)}` : '';
      return [
        r.metadata.name,
        r.metadata.labels?.[CONFIGURATION_GENERATION_LABEL] ?? '',
        share && share.percent > 0 ? `${share.percent}%` : '',
        share ? share.tags.join(',') : '',
        readiness(r).ready,
        replicas,
        age(r.metadata.creationTimestamp, ctx.now),
      ];
    });
  out.push(section('Revisions', { headers: ['NAME', 'GENERATION', 'TRAFFIC', 'TAGS', 'READY', 'REPLICAS', 'AGE'], rows: revRows }));
  return out;
}

function revisionHighlights(obj: KObject): string[] {
  const spec = record(obj.spec) as Partial<RevisionSpec>;
  const status = record(obj.status);
  const labels = obj.metadata.labels ?? {};
  const pairs: [string, string][] = [
    ['Service', labels['serving.knative.dev/service'] ?? '<none>'],
    ...containerFields(spec.containers?.[0]),
    ['Container Concurrency', String(spec.containerConcurrency ?? 0)],
    ['Timeout Seconds', String(spec.timeoutSeconds ?? 300)],
    ['Replicas', `${String(status.actualReplicas ?? 0)} actual / ${String(status.desiredReplicas ?? 0)} desired`],
  ];
  return [fields(pairs)];
}

function yamlValue(v: unknown): string {
  return formatYaml(v).replace(/\n$/, '');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `Service hello (serving.knative.dev/v1)`, `Broker other/default`. */
function refText(ref: Record<string, unknown>): string {
  const ns = str(ref.namespace);
  const api = str(ref.apiVersion);
  return `${str(ref.kind) ?? '?'} ${ns ? `${ns}/` : ''}${str(ref.name) ?? '?'}${api ? ` (${api})` : ''}`;
}

/** A Destination's `ref`/`uri` and what it resolved to. */
function destinationText(dest: Record<string, unknown>, resolved: string | undefined): string {
  const pairs: [string, string][] = [];
  if (Object.keys(record(dest.ref)).length > 0) pairs.push(['Ref', refText(record(dest.ref))]);
  if (str(dest.uri)) pairs.push(['URI', str(dest.uri) as string]);
  pairs.push(['Resolved URI', resolved ?? '<unresolved>']);
  return fields(pairs);
}

function deliveryText(delivery: unknown, inherited: string): string {
  const d = record(delivery);
  return Object.keys(d).length > 0 ? yamlValue(d) : inherited;
}

function brokerHighlights(obj: KObject): string[] {
  const spec = record(obj.spec);
  const status = record(obj.status);
  const pairs: [string, string][] = [
    ['Class', obj.metadata.annotations?.[BROKER_CLASS_ANNOTATION] ?? '<platform default>'],
    ['Address', str(record(status.address).url) ?? '<none>'],
    ['Delivery', deliveryText(spec.delivery, '<defaults>')],
  ];
  if (str(status.deadLetterSinkUri)) pairs.push(['Dead Letter Sink URI', str(status.deadLetterSinkUri) as string]);
  if (Object.keys(record(spec.config)).length > 0) pairs.push(['Config', refText(record(spec.config))]);
  return [fields(pairs)];
}

function triggerHighlights(obj: KObject): string[] {
  const spec = record(obj.spec);
  const status = record(obj.status);
  const filters = Array.isArray(spec.filters) && spec.filters.length > 0 ? spec.filters : undefined;
  const attributes = record(record(spec.filter).attributes);
  const filter = filters ? yamlValue({ filters }) : Object.keys(attributes).length > 0 ? yamlValue({ attributes }) : '<none> (every event)';
  const pairs: [string, string][] = [
    ['Broker', str(spec.broker) ?? '<none>'],
    ['Filter', filter],
    ['Subscriber', destinationText(record(spec.subscriber), str(status.subscriberUri))],
    ['Delivery', deliveryText(spec.delivery, "<the Broker's>")],
  ];
  if (str(status.deadLetterSinkUri)) pairs.push(['Dead Letter Sink URI', str(status.deadLetterSinkUri) as string]);
  pairs.push(['Max in flight', obj.metadata.annotations?.[MAX_IN_FLIGHT_ANNOTATION] ?? `${DEFAULT_MAX_IN_FLIGHT} (default)`]);
  return [fields(pairs)];
}

function genericHighlights(obj: KObject): string[] {
  const out: string[] = [];
  const address = record(record(obj.status).address).url;
  if (typeof address === 'string') out.push(fields([['Address', address]]));
  if (obj.data !== undefined) out.push(`Data:\n${indent(formatYaml(obj.data), '  ')}`);
  if (obj.spec !== undefined) out.push(`Spec:\n${indent(formatYaml(obj.spec), '  ')}`);
  const { conditions: _omit, ...restStatus } = record(obj.status);
  if (Object.keys(restStatus).length > 0) out.push(`Status:\n${indent(formatYaml(restStatus), '  ')}`);
  return out;
}

/** The full describe text of one object. */
export function describeObject(obj: KObject, ctx: DescribeContext): string {
  const header = fields([
    ['Name', obj.metadata.name],
    ['Namespace', obj.metadata.namespace ?? ''],
    ['Labels', mapLines(obj.metadata.labels, '=')],
    ['Annotations', mapLines(obj.metadata.annotations, ': ')],
    ['Age', age(obj.metadata.creationTimestamp, ctx.now)],
  ]);
  const highlights =
    obj.kind === 'Service'
      ? serviceHighlights(obj, ctx)
      : obj.kind === 'Revision'
        ? revisionHighlights(obj)
        : obj.kind === 'Broker'
          ? brokerHighlights(obj)
          : obj.kind === 'Trigger'
            ? triggerHighlights(obj)
            : genericHighlights(obj);
  return [header, ...highlights, conditionsSection(obj)].join('\n\n') + '\n';
}
