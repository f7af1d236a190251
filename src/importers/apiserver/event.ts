/**
 * The CloudEvent an ApiServerSource emits for one store change (Knative's apiserver adapter). Pure: id and time are
 * handed in. `Reference` mode sends a reference to the object; `Resource` mode sends the object itself.
 */
import { CloudEvent } from 'cloudevents';
import { kindOf } from '../../api/kinds.js';
import type { KObject } from '../../api/types.js';
import type { WatchEvent } from '../../control/store.js';

export type ApiServerMode = 'Reference' | 'Resource';

export const DEFAULT_API_SERVER_MODE: ApiServerMode = 'Reference';

/** One `spec.resources[]` entry. */
export interface ApiServerResource {
  apiVersion: string;
  kind: string;
  selector?: { matchLabels?: Record<string, string> };
}

/** What the mapping needs of a source. */
export interface ApiServerWatchSpec {
  /** The source's own namespace: only objects in it are watched. */
  namespace: string;
  resources: readonly ApiServerResource[];
  /** The CloudEvents `source`: the control API base URL (Knative uses the API server URL). */
  sourceUri: string;
  /** `spec.ceOverrides.extensions`. */
  extensions?: Readonly<Record<string, string>>;
}

const VERB: Record<WatchEvent['type'], string> = { ADDED: 'add', MODIFIED: 'update', DELETED: 'delete' };

/** `dev.knative.apiserver.ref.add`, `dev.knative.apiserver.resource.delete`, ... */
export function apiServerEventType(mode: ApiServerMode, type: WatchEvent['type']): string {
  return `dev.knative.apiserver.${mode === 'Resource' ? 'resource' : 'ref'}.${VERB[type]}`;
}

/** Every event type a source in `mode` emits (for `status.ceAttributes`). */
export function apiServerEventTypes(mode: ApiServerMode): string[] {
  return (['ADDED', 'MODIFIED', 'DELETED'] as const).map((t) => apiServerEventType(mode, t));
}

/** `/apis/<apiVersion>/namespaces/<ns>/<plural>/<name>`. */
export function apiServerSubject(obj: KObject): string {
  const plural = kindOf(obj.apiVersion, obj.kind)?.plural ?? `${obj.kind.toLowerCase()}s`;
  return `/apis/${obj.apiVersion}/namespaces/${obj.metadata.namespace}/${plural}/${obj.metadata.name}`;
}

function labelsMatch(obj: KObject, matchLabels: Readonly<Record<string, string>> | undefined): boolean {
  const labels = obj.metadata.labels ?? {};
  return Object.entries(matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** Is this object one the source watches: its namespace, one of its resources' kinds, labels matching that selector? */
export function watches(spec: ApiServerWatchSpec, obj: KObject): boolean {
  if (obj.metadata.namespace !== spec.namespace) return false;
  return spec.resources.some((r) => r.apiVersion === obj.apiVersion && r.kind === obj.kind && labelsMatch(obj, r.selector?.matchLabels));
}

/** The event for one watch event, or undefined when the source does not watch that object. */
export function eventFor(spec: ApiServerWatchSpec, ev: WatchEvent, mode: ApiServerMode, id: string, now: number): CloudEvent<unknown> | undefined {
  const obj = ev.object;
  if (!watches(spec, obj)) return undefined;
  const { apiVersion, kind } = obj;
  const { name, namespace } = obj.metadata;
  const attrs: Record<string, unknown> = {
    kind,
    apiversion: apiVersion,
    name,
    namespace,
    ...(spec.extensions ?? {}),
    specversion: '1.0',
    id,
    type: apiServerEventType(mode, ev.type),
    source: spec.sourceUri,
    subject: apiServerSubject(obj),
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    data: mode === 'Resource' ? structuredClone(obj) : { apiVersion, kind, name, namespace },
  };
  return new CloudEvent<unknown>(attrs, false);
}
