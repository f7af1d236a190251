/**
 * The pure half of ApiServerSource on Kubernetes: what a source asks the API server for, and how answers become
 * changes. Label selectors as the API's `labelSelector` query, the impersonated ServiceAccount user, which namespaces
 * to watch, REST paths from discovery, the differences between what a watcher knew and a re-list, and what a refusal
 * means for the source's status. No I/O here: kube-runner.ts and kube-list-watch.ts do the calls.
 */
import type { LabelSelector } from '../../api/selector.js';
import type { KObject } from '../../api/types.js';
import type { WatchEventType } from '../../control/resource-store.js';
import type { ApiServerMode, ApiServerOwner, ApiServerResource } from './event.js';

/** What the Kubernetes runner needs of an ApiServerSource, resolved (JSON-serialisable: it is the restart signature). */
export interface KubeApiServerRunSpec {
  namespace: string;
  name: string;
  resources: ApiServerResource[];
  owner?: ApiServerOwner;
  /** `spec.namespaceSelector`: absent, the source's own namespace; empty, every namespace; else the matching ones. */
  namespaceSelector?: LabelSelector;
  /** The ServiceAccount whose rights the watches use (impersonated); Knative's default is `default`. */
  serviceAccountName: string;
  mode: ApiServerMode;
  /** The events' `source`: the API server's URL. */
  sourceUri: string;
  extensions?: Record<string, string>;
  sinkUri: string;
}

/** Knative's default `spec.serviceAccountName`: the adapter runs as the namespace's `default` ServiceAccount. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';

/** The user a ServiceAccount authenticates as, for `Impersonate-User`. */
export function serviceAccountUser(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

function hasTerms(selector: LabelSelector | undefined): boolean {
  return Object.keys(selector?.matchLabels ?? {}).length > 0 || (selector?.matchExpressions ?? []).length > 0;
}

/**
 * A metav1.LabelSelector as the API's `labelSelector` query (what LabelSelectorAsSelector prints): `k=v` for
 * matchLabels, `k in (a,b)`, `k notin (a,b)`, `k`, `!k` for expressions, comma-separated (AND). Empty: ''.
 */
export function labelSelectorString(selector: LabelSelector | undefined): string {
  const terms: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) terms.push({ key: k, text: `${k}=${v}` });
  for (const r of selector?.matchExpressions ?? []) {
    const values = [...(r.values ?? [])].sort().join(',');
    const text = r.operator === 'In' ? `${r.key} in (${values})` : r.operator === 'NotIn' ? `${r.key} notin (${values})` : r.operator === 'Exists' ? r.key : `!${r.key}`;
    terms.push({ key: r.key, text });
  }
  // Kubernetes sorts requirements by key; stable, so matchLabels come before expressions of the same key.
  return terms
    .map((t, i) => ({ ...t, i }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i))
    .map((t) => t.text)
    .join(',');
}

/** Which namespaces a source watches. */
export type NamespacePlan =
  | { kind: 'own'; namespace: string }
  | { kind: 'all' }
  /** The namespaces whose labels match: Namespaces are list-watched with this `labelSelector`. */
  | { kind: 'selected'; labelSelector: string };

/** Knative's rule: no namespaceSelector → the source's namespace; an empty one → all namespaces; else the matching. */
export function namespacePlan(spec: Pick<KubeApiServerRunSpec, 'namespace' | 'namespaceSelector'>): NamespacePlan {
  if (spec.namespaceSelector === undefined) return { kind: 'own', namespace: spec.namespace };
  if (!hasTerms(spec.namespaceSelector)) return { kind: 'all' };
  return { kind: 'selected', labelSelector: labelSelectorString(spec.namespaceSelector) };
}

/** `v1` → core; `apps/v1` → group apps. */
export function groupVersionOf(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The discovery document of an apiVersion: `/api/v1` or `/apis/<group>/<version>`. */
export function discoveryPath(apiVersion: string): string {
  const { group, version } = groupVersionOf(apiVersion);
  return group === '' ? `/api/${encodeURIComponent(version)}` : `/apis/${encodeURIComponent(group)}/${encodeURIComponent(version)}`;
}

/** One entry of an APIResourceList (discovery). */
export interface ApiResourceInfo {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
}

/** A kind resolved through discovery. */
export interface ResolvedResource {
  apiVersion: string;
  kind: string;
  /** The resource name, e.g. `deployments`. */
  plural: string;
  namespaced: boolean;
}

/** The kind's resource in a discovery document (subresources such as `deployments/status` excluded), or undefined. */
export function findResource(apiVersion: string, kind: string, resources: readonly ApiResourceInfo[]): ResolvedResource | undefined {
  const r = resources.find((x) => x.kind === kind && !x.name.includes('/'));
  return r ? { apiVersion, kind, plural: r.name, namespaced: r.namespaced } : undefined;
}

/** The collection path of a resolved resource: in one namespace, or across all (and for cluster-scoped kinds). */
export function collectionPath(resource: ResolvedResource, namespace: string | undefined): string {
  const root = discoveryPath(resource.apiVersion);
  const ns = resource.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${ns}/${encodeURIComponent(resource.plural)}`;
}

/** `path?labelSelector=...` (nothing added for an empty selector), with further query parameters. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

const keyOf = (o: KObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** A change a watcher reports. */
export interface ObjectChange {
  type: WatchEventType;
  object: KObject;
}

/**
 * What changed between what a watcher knew and a fresh list (after a 410 Gone or a failure): objects gone are
 * DELETED (as last known), new ones ADDED, ones with another resourceVersion MODIFIED; an object deleted and created
 * again under the same name (another uid) is a DELETED and an ADDED. Sorted by namespace/name for a stable order.
 */
export function relistChanges(known: ReadonlyMap<string, KObject>, listed: readonly KObject[]): ObjectChange[] {
  const out: ObjectChange[] = [];
  const now = new Map(listed.map((o) => [keyOf(o), o]));
  for (const [key, old] of known) if (!now.has(key)) out.push({ type: 'DELETED', object: old });
  for (const [key, obj] of now) {
    const old = known.get(key);
    if (!old) out.push({ type: 'ADDED', object: obj });
    else if (old.metadata.uid !== undefined && obj.metadata.uid !== undefined && old.metadata.uid !== obj.metadata.uid) {
      out.push({ type: 'DELETED', object: old }, { type: 'ADDED', object: obj });
    } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) out.push({ type: 'MODIFIED', object: obj });
  }
  return out.sort((a, b) => (keyOf(a.object) < keyOf(b.object) ? -1 : keyOf(a.object) > keyOf(b.object) ? 1 : 0));
}

/** Applies one change to what a watcher knows (by namespace/name). */
export function applyChange(known: Map<string, KObject>, change: ObjectChange): void {
  if (change.type === 'DELETED') known.delete(keyOf(change.object));
  else known.set(keyOf(change.object), change.object);
}

export { keyOf as objectKey };

/** Why a watch does not run, as the source's `Deployed`/`Ready` condition shows it. */
export interface WatchProblem {
  reason: string;
  message: string;
}

/**
 * A refused or failed request as a condition: 403 `Forbidden` (the ServiceAccount lacks the rights), 401
 * `Unauthorized`, 404 `ResourceNotFound`, no answer `ApiServerUnreachable`, anything else the API's own reason.
 * The message is the API server's (it names the user, verb, resource and namespace).
 */
export function watchProblem(status: number, apiReason: string | undefined, message: string): WatchProblem {
  if (status === 403) return { reason: 'Forbidden', message };
  if (status === 401) return { reason: 'Unauthorized', message };
  if (status === 404) return { reason: 'ResourceNotFound', message };
  if (status === 0) return { reason: 'ApiServerUnreachable', message };
  return { reason: apiReason && apiReason !== 'Unknown' ? apiReason : 'WatchFailed', message };
}

/** The back-off before retry number `failures` (1-based): initial × 2^(failures-1), capped. */
export function backoffMs(failures: number, policy: { initialMs: number; maxMs: number }): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 20));
}
