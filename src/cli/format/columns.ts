/** The `wisp get` table of each kind: columns like kubectl/kn print them. Pure. */
import type { KindInfo } from '../../api/kinds.js';
import type { Condition, KObject, TrafficTarget } from '../../api/types.js';
import { age } from './age.js';

export const SERVICE_LABEL = 'serving.knative.dev/service';
export const CONFIGURATION_GENERATION_LABEL = 'serving.knative.dev/configurationGeneration';

export interface RevisionTraffic {
  percent: number;
  tags: string[];
}

export interface TableContext {
  /** ms since epoch, for AGE. */
  now: number;
  /** `-A`: a NAMESPACE column first. */
  allNamespaces: boolean;
  /** Traffic per `<namespace>/<revision>`, from the Services' `status.traffic` (for revisions). */
  traffic?: ReadonlyMap<string, RevisionTraffic>;
}

export interface Table {
  headers: string[];
  rows: string[][];
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

export function conditionsOf(obj: KObject): Condition[] {
  const conditions = record(obj.status).conditions;
  return Array.isArray(conditions) ? (conditions as Condition[]) : [];
}

/** READY and REASON from the `Ready` condition (`Unknown` when there is none yet). */
export function readiness(obj: KObject): { ready: string; reason: string } {
  const ready = conditionsOf(obj).find((c) => c.type === 'Ready');
  return { ready: ready?.status ?? 'Unknown', reason: ready?.reason ?? '' };
}

/** Adds up each revision's share of traffic and its tags, from Services (or Routes) `status.traffic`. */
export function trafficByRevision(owners: readonly KObject[]): Map<string, RevisionTraffic> {
  const out = new Map<string, RevisionTraffic>();
  for (const owner of owners) {
    const status = record(owner.status);
    const targets = Array.isArray(status.traffic) ? (status.traffic as TrafficTarget[]) : [];
    for (const t of targets) {
      const rev = t.revisionName ?? (t.latestRevision ? str(status.latestReadyRevisionName) : '');
      if (rev === '') continue;
      const key = `${owner.metadata.namespace}/${rev}`;
      const entry = out.get(key) ?? { percent: 0, tags: [] };
      entry.percent += t.percent ?? 0;
      if (t.tag !== undefined && t.tag !== '' && !entry.tags.includes(t.tag)) entry.tags.push(t.tag);
      out.set(key, entry);
    }
  }
  return out;
}

type Columns = { headers: string[]; cells: (obj: KObject, ctx: TableContext) => string[] };

const withReady = (obj: KObject): string[] => {
  const r = readiness(obj);
  return [r.ready, r.reason];
};

const COLUMNS: Record<string, Columns> = {
  Service: {
    headers: ['URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON'],
    cells: (o) => {
      const s = record(o.status);
      return [str(s.url), str(s.latestCreatedRevisionName), str(s.latestReadyRevisionName), ...withReady(o)];
    },
  },
  Revision: {
    headers: ['SERVICE', 'TRAFFIC', 'TAGS', 'GENERATION', 'READY', 'REASON', 'ACTUAL', 'DESIRED'],
    cells: (o, ctx) => {
      const s = record(o.status);
      const labels = o.metadata.labels ?? {};
      const traffic = ctx.traffic?.get(`${o.metadata.namespace}/${o.metadata.name}`);
      return [
        labels[SERVICE_LABEL] ?? '',
        traffic && traffic.percent > 0 ? `${traffic.percent}%` : '',
        traffic ? traffic.tags.join(',') : '',
        labels[CONFIGURATION_GENERATION_LABEL] ?? '',
        ...withReady(o),
        str(s.actualReplicas),
        str(s.desiredReplicas),
      ];
    },
  },
  Route: {
    headers: ['URL', 'READY', 'REASON'],
    cells: (o) => [str(record(o.status).url), ...withReady(o)],
  },
  ConfigMap: {
    headers: ['DATA'],
    cells: (o) => [String(Object.keys(o.data ?? {}).length)],
  },
  Broker: {
    headers: ['URL', 'READY', 'REASON'],
    cells: (o) => [str(record(record(o.status).address).url), ...withReady(o)],
  },
  Trigger: {
    headers: ['BROKER', 'SUBSCRIBER', 'READY', 'REASON'],
    cells: (o) => {
      const spec = record(o.spec);
      const subscriber = record(spec.subscriber);
      const ref = record(subscriber.ref);
      const resolved = str(record(o.status).subscriberUri);
      const sub = resolved !== '' ? resolved : str(subscriber.uri) !== '' ? str(subscriber.uri) : str(ref.name) !== '' ? `${str(ref.kind).toLowerCase()}:${str(ref.name)}` : '';
      return [str(spec.broker), sub, ...withReady(o)];
    },
  },
  PingSource: {
    headers: ['SCHEDULE', 'SINK', 'READY', 'REASON'],
    cells: (o) => [str(record(o.spec).schedule), str(record(o.status).sinkUri), ...withReady(o)],
  },
  ContainerSource: {
    headers: ['SINK', 'READY', 'REASON'],
    cells: (o) => [str(record(o.status).sinkUri), ...withReady(o)],
  },
  SinkBinding: {
    headers: ['SUBJECT', 'SINK', 'READY', 'REASON'],
    cells: (o) => {
      const subject = record(record(o.spec).subject);
      const labels = Object.entries(record(record(subject.selector).matchLabels)).map(([k, v]) => `${k}=${str(v)}`);
      const which = str(subject.name) !== '' ? str(subject.name) : labels.length > 0 ? labels.join(',') : 'selector';
      return [`${str(subject.kind).toLowerCase()}:${which}`, str(record(o.status).sinkUri), ...withReady(o)];
    },
  },
  KafkaSource: {
    headers: ['TOPICS', 'SINK', 'READY', 'REASON'],
    cells: (o) => {
      const topics = Array.isArray(record(o.spec).topics) ? (record(o.spec).topics as unknown[]) : [];
      return [topics.map(str).join(','), str(record(o.status).sinkUri), ...withReady(o)];
    },
  },
  ApiServerSource: {
    headers: ['RESOURCES', 'SINK', 'READY', 'REASON'],
    cells: (o) => {
      const resources = Array.isArray(record(o.spec).resources) ? (record(o.spec).resources as unknown[]) : [];
      return [resources.map((r) => str(record(r).kind)).join(','), str(record(o.status).sinkUri), ...withReady(o)];
    },
  },
};

const GENERIC: Columns = { headers: ['READY', 'REASON'], cells: withReady };

/** The table `wisp get` prints for objects of one kind. */
export function tableFor(info: KindInfo, objects: readonly KObject[], ctx: TableContext): Table {
  const cols = COLUMNS[info.kind] ?? GENERIC;
  const headers = [...(ctx.allNamespaces ? ['NAMESPACE'] : []), 'NAME', ...cols.headers, 'AGE'];
  const rows = objects.map((o) => [
    ...(ctx.allNamespaces ? [o.metadata.namespace ?? ''] : []),
    o.metadata.name,
    ...cols.cells(o, ctx),
    age(o.metadata.creationTimestamp, ctx.now),
  ]);
  return { headers, rows };
}
