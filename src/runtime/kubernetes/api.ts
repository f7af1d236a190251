/**
 * The runtime's Kubernetes I/O, thin: typed clients from the KubeConfig, a deadline on every call, API errors as
 * KubernetesApiError, and the list+watch sources of Pods, EndpointSlices and Deployments for the reflectors.
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  Observable,
  PatchStrategy,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type RequestContext,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { KubernetesApiError } from './errors.js';
import { REVISION_LABEL, SERVICE_NAME_LABEL } from './objects.js';
import type { ListWatchSource, WatchHandle } from './reflector.js';

/** Deadline of one API call (not of watches: those end on the server's timeoutSeconds or the client's idle timeout). */
export const API_TIMEOUT_MS = 10_000;
/** Server-side end of one watch, below the client's 30 s idle timeout, so a quiet watch ends cleanly and is resumed. */
export const WATCH_TIMEOUT_SECONDS = 25;

/** Options for one API call: an abort deadline and, for patches, the patch type. */
export function callOptions(timeoutMs = API_TIMEOUT_MS, contentType?: string): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      if (contentType !== undefined) ctx.setHeaderParam('Content-Type', contentType);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export const mergePatch = (): ConfigurationOptions<ObservableMiddleware> => callOptions(API_TIMEOUT_MS, PatchStrategy.MergePatch);

/** The HTTP status of a failed call, if the API server answered. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (err instanceof KubernetesApiError) return err.httpStatus;
  const c = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

function apiMessageOf(err: unknown): string | undefined {
  if (err instanceof ApiException) {
    const raw: unknown = err.body;
    let body: unknown = raw;
    if (typeof raw === 'string') {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        return raw.trim() === '' ? undefined : raw.slice(0, 1024);
      }
    }
    const msg = (body as { message?: unknown } | null)?.message;
    return typeof msg === 'string' ? msg : undefined;
  }
  if (!(err instanceof Error)) return String(err);
  // undici says only "fetch failed" / "terminated"; the reason (ECONNREFUSED, a reset socket) is its cause.
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const why = typeof cause?.message === 'string' && cause.message !== '' ? cause.message : typeof cause?.code === 'string' ? cause.code : undefined;
  return why !== undefined && why !== err.message ? `${err.message} (${why})` : err.message;
}

/** Any failure of `what` as a KubernetesApiError (unchanged when it already is one). */
export function apiError(what: string, err: unknown): KubernetesApiError {
  if (err instanceof KubernetesApiError) return err;
  return new KubernetesApiError(what, err instanceof ApiException ? err.code : httpStatusOf(err), apiMessageOf(err), { cause: err });
}

/** Runs one API call; its failure becomes a KubernetesApiError naming `what`. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw apiError(what, err);
  }
}

/** The clients the runtime uses. */
export interface KubeClients {
  apps: AppsV1Api;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  watch: Watch;
}

export function makeClients(kc: KubeConfig): KubeClients {
  return { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api), watch: new Watch(kc) };
}

/** A watch event's object if it looks like an API object (metadata.name set). Plain JSON: see pod-status.ts. */
function asObject<T>(obj: unknown): T | undefined {
  const name = (obj as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? (obj as T) : undefined;
}

/** One kind to list-watch: where it lives, which objects (label selector), and its typed list call. */
export interface ListWatchSpec<T> {
  what: string;
  /** `/api/v1` or `/apis/<group>/<version>`. */
  prefix: string;
  resource: string;
  namespace: string | undefined;
  /** Only objects with this label (selector syntax); default the revision label. '' = every object. */
  labelSelector?: string;
  list(labelSelector: string): Promise<{ items: T[]; metadata?: { resourceVersion?: string } | undefined }>;
}

/** The list and watch calls of one kind, for a Reflector (also used by the importers' Kubernetes adapters). */
export function listWatchSource<T>(w: Watch, spec: ListWatchSpec<T>): ListWatchSource<T> {
  const path = spec.namespace !== undefined ? `${spec.prefix}/namespaces/${spec.namespace}/${spec.resource}` : `${spec.prefix}/${spec.resource}`;
  const what = `${spec.what}${spec.namespace !== undefined ? ` in ${spec.namespace}` : ''}`;
  const labelSelector = spec.labelSelector ?? REVISION_LABEL;
  return {
    what,
    async list() {
      const l = await call(`list ${what}`, () => spec.list(labelSelector));
      return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
    },
    async watch(resourceVersion, onEvent, done): Promise<WatchHandle> {
      const controller = await w.watch(
        path,
        { resourceVersion, ...(labelSelector !== '' && { labelSelector }), allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
        (type: string, obj: unknown) => onEvent(type, obj),
        (err: unknown) => done(err === null || err === undefined ? err : (err as { name?: unknown }).name === 'TimeoutError' ? err : apiError(`watch ${what}`, err)),
      );
      return { stop: () => controller.abort() };
    },
    parse: (obj) => asObject<T>(obj),
  };
}

/** Pods, EndpointSlices and Deployments carrying the revision label, in `namespace` or all namespaces. */
export function revisionSources(c: KubeClients, namespace: string | undefined): {
  pods: ListWatchSource<V1Pod>;
  slices: ListWatchSource<V1EndpointSlice>;
  deployments: ListWatchSource<V1Deployment>;
} {
  const o = callOptions();
  return {
    pods: listWatchSource<V1Pod>(c.watch, {
      what: 'pods',
      prefix: '/api/v1',
      resource: 'pods',
      namespace,
      list: (labelSelector) =>
        namespace !== undefined ? c.core.listNamespacedPod({ namespace, labelSelector }, o) : c.core.listPodForAllNamespaces({ labelSelector }, o),
    }),
    slices: listWatchSource<V1EndpointSlice>(c.watch, {
      what: 'endpointslices',
      prefix: '/apis/discovery.k8s.io/v1',
      resource: 'endpointslices',
      namespace,
      list: (labelSelector) =>
        namespace !== undefined
          ? c.discovery.listNamespacedEndpointSlice({ namespace, labelSelector }, o)
          : c.discovery.listEndpointSliceForAllNamespaces({ labelSelector }, o),
    }),
    deployments: listWatchSource<V1Deployment>(c.watch, {
      what: 'deployments',
      prefix: '/apis/apps/v1',
      resource: 'deployments',
      namespace,
      list: (labelSelector) =>
        namespace !== undefined
          ? c.apps.listNamespacedDeployment({ namespace, labelSelector }, o)
          : c.apps.listDeploymentForAllNamespaces({ labelSelector }, o),
    }),
  };
}

/** Every v1 Service, and the EndpointSlices of every Service, in `namespace` or all namespaces (Trigger subscribers). */
export function clusterServiceSources(c: KubeClients, namespace: string | undefined): {
  services: ListWatchSource<V1Service>;
  slices: ListWatchSource<V1EndpointSlice>;
} {
  const o = callOptions();
  return {
    services: listWatchSource<V1Service>(c.watch, {
      what: 'services',
      prefix: '/api/v1',
      resource: 'services',
      namespace,
      labelSelector: '',
      list: () => (namespace !== undefined ? c.core.listNamespacedService({ namespace }, o) : c.core.listServiceForAllNamespaces({}, o)),
    }),
    slices: listWatchSource<V1EndpointSlice>(c.watch, {
      what: 'endpointslices',
      prefix: '/apis/discovery.k8s.io/v1',
      resource: 'endpointslices',
      namespace,
      labelSelector: SERVICE_NAME_LABEL,
      list: (labelSelector) =>
        namespace !== undefined
          ? c.discovery.listNamespacedEndpointSlice({ namespace, labelSelector }, o)
          : c.discovery.listEndpointSliceForAllNamespaces({ labelSelector }, o),
    }),
  };
}
