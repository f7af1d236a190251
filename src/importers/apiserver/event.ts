/**
 * The CloudEvent an ApiServerSource emits for one change (Knative's apiserver adapter, `events.go`). Pure: id and
 * time are handed in. `Reference` mode sends a reference to the object; `Resource` mode sends the object itself.
 * The embedded runner maps the store's watch events (eventFor); the Kubernetes runner maps the API server's
 * (apiServerEvent, after its own filtering: the selector is the API server's, the owner is ownerMatches).
 */
import { CloudEvent } from 'cloudevents';
import { kindOf } from '../../api/kinds.js';
import { labelSelectorMatches, type LabelSelector } from '../../api/selector.js';
import type { KObject } from '../../api/types.js';
import type { WatchEvent } from '../../control/store.js';

export type ApiServerMode = 'Reference' | 'Resource';

export const DEFAULT_API_SERVER_MODE: ApiServerMode = 'Reference';

/** One `spec.resources[]` entry. */
export interface ApiServerResource {
  apiVersion: string;
  kind: string;
  selector?: LabelSelector;
}

/** `spec.owner`: only objects whose controller (the ownerReference with `controller: true`) is of this kind. */
export interface ApiServerOwner {
  apiVersion?: string;
  kind?: string;
}

/** What the mapping needs of a source. */
export interface ApiServerWatchSpec {
  /** The source's own namespace: only objects in it are watched. */
  namespace: string;
  resources: readonly ApiServerResource[];
  owner?: ApiServerOwner;
  /** The CloudEvents `source`: the control API base URL embedded, the API server's URL on Kubernetes (as Knative). */
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

/**
 * `/apis/<apiVersion>/namespaces/<ns>/<plural>/<name>`, Knative's selfLink-like subject (`/apis/v1/...` for the core
 * group too). `plural` is the resource name discovery gave; without it, Wisp's own kind's or the lower-cased kind + s.
 */
export function apiServerSubject(obj: KObject, plural?: string): string {
  const p = plural ?? kindOf(obj.apiVersion, obj.kind)?.plural ?? `${obj.kind.toLowerCase()}s`;
  return `/apis/${obj.apiVersion}/namespaces/${obj.metadata.namespace ?? ''}/${p}/${obj.metadata.name}`;
}

/** Knative's controllerFilter: the object's controller matches the owner's apiVersion and kind (each when given). */
export function ownerMatches(obj: KObject, owner: ApiServerOwner | undefined): boolean {
  if (!owner || (!owner.apiVersion && !owner.kind)) return true;
  const controller = obj.metadata.ownerReferences?.find((r) => r.controller === true);
  if (!controller) return false;
  return (!owner.apiVersion || owner.apiVersion === controller.apiVersion) && (!owner.kind || owner.kind === controller.kind);
}

/** Is this object one the source watches: its namespace, one of its resources' kinds, labels matching that selector, its owner? */
export function watches(spec: ApiServerWatchSpec, obj: KObject): boolean {
  if (obj.metadata.namespace !== spec.namespace) return false;
  if (!ownerMatches(obj, spec.owner)) return false;
  return spec.resources.some((r) => r.apiVersion === obj.apiVersion && r.kind === obj.kind && labelSelectorMatches(r.selector ?? {}, obj.metadata.labels));
}

/** What one event is made of. */
export interface ApiServerEventInput {
  mode: ApiServerMode;
  type: WatchEvent['type'];
  /** The object, with apiVersion and kind. */
  object: KObject;
  sourceUri: string;
  extensions?: Readonly<Record<string, string>> | undefined;
  /** The resource name for the subject (see apiServerSubject). */
  plural?: string | undefined;
  id: string;
  now: number;
}

/** The event for one change of one object: Knative's type, source, subject and `kind`/`name`/`namespace` extensions. */
export function apiServerEvent(o: ApiServerEventInput): CloudEvent<unknown> {
  const obj = o.object;
  const { apiVersion, kind } = obj;
  const { name } = obj.metadata;
  const namespace = obj.metadata.namespace ?? '';
  const attrs: Record<string, unknown> = {
    kind,
    apiversion: apiVersion,
    name,
    namespace,
    ...(o.extensions ?? {}),
    specversion: '1.0',
    id: o.id,
    type: apiServerEventType(o.mode, o.type),
    source: o.sourceUri,
    subject: apiServerSubject(obj, o.plural),
    time: new Date(o.now).toISOString(),
    datacontenttype: 'application/json',
    data: o.mode === 'Resource' ? structuredClone(obj) : { apiVersion, kind, name, namespace },
  };
  return new CloudEvent<unknown>(attrs, false);
}

/** The event for one watch event of the embedded store, or undefined when the source does not watch that object. */
export function eventFor(spec: ApiServerWatchSpec, ev: WatchEvent, mode: ApiServerMode, id: string, now: number): CloudEvent<unknown> | undefined {
  if (!watches(spec, ev.object)) return undefined;
  return apiServerEvent({ mode, type: ev.type, object: ev.object, sourceUri: spec.sourceUri, extensions: spec.extensions, id, now });
}
