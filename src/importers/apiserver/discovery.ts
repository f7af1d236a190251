/**
 * API discovery for ApiServerSources on Kubernetes: an apiVersion/kind → its resource name and scope, from the
 * group version's APIResourceList (`/api/v1`, `/apis/<group>/<version>`), as client-go's discovery client and
 * Knative's adapter (`ServerResourcesForGroupVersion`) do. One cache for every source: a document is kept for
 * `ttlMs`; a kind not found in it is looked up again once the document is `missTtlMs` old (a CRD installed later).
 * Asked with Wisp's own identity: discovery is open to every authenticated user.
 */
import type { Clock } from '../../clock.js';
import { KubeApiError } from '../../control/kube/client.js';
import { discoveryPath, findResource, watchProblem, type ApiResourceInfo, type ResolvedResource, type WatchProblem } from './kube-spec.js';

/** The one call discovery makes. KubeClient fits. */
export interface KubeGetter {
  request<T>(method: 'GET', path: string): Promise<T>;
}

export type Resolution = { ok: true; resource: ResolvedResource } | { ok: false; problem: WatchProblem };

export interface ApiDiscoveryOptions {
  api: KubeGetter;
  clock: Clock;
  /** How long a document is used. Default 5 minutes. */
  ttlMs?: number;
  /** How old a document may be before a kind missing from it is looked up again. Default 5 s. */
  missTtlMs?: number;
}

interface Cached {
  at: number;
  resources: ApiResourceInfo[];
}

export class ApiDiscovery {
  readonly #o: ApiDiscoveryOptions;
  readonly #cache = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<Cached>>();

  constructor(options: ApiDiscoveryOptions) {
    this.#o = options;
  }

  /** The resource of `kind` in `apiVersion`, or why there is none (ResourceNotFound, Forbidden, unreachable...). */
  async resolve(apiVersion: string, kind: string): Promise<Resolution> {
    const now = this.#o.clock.now();
    let doc = this.#cache.get(apiVersion);
    const fresh = (d: Cached | undefined, ttl: number): d is Cached => d !== undefined && now - d.at < ttl;
    if (!fresh(doc, this.#o.ttlMs ?? 300_000)) doc = undefined;
    let found = doc ? findResource(apiVersion, kind, doc.resources) : undefined;
    if (!found && !fresh(doc, this.#o.missTtlMs ?? 5_000)) {
      try {
        doc = await this.#fetch(apiVersion);
      } catch (err) {
        if (err instanceof KubeApiError) {
          if (err.notFound) return { ok: false, problem: { reason: 'ResourceNotFound', message: `the API server does not serve ${apiVersion}` } };
          return { ok: false, problem: watchProblem(err.status, err.reason, err.body?.message ?? err.message) };
        }
        throw err;
      }
      found = findResource(apiVersion, kind, doc.resources);
    }
    if (!found) return { ok: false, problem: { reason: 'ResourceNotFound', message: `the API server has no kind "${kind}" in ${apiVersion}` } };
    return { ok: true, resource: found };
  }

  #fetch(apiVersion: string): Promise<Cached> {
    const pending = this.#inFlight.get(apiVersion);
    if (pending) return pending;
    const p = this.#o.api
      .request<{ resources?: ApiResourceInfo[] }>('GET', discoveryPath(apiVersion))
      .then((list) => {
        const entry = { at: this.#o.clock.now(), resources: list.resources ?? [] };
        this.#cache.set(apiVersion, entry);
        return entry;
      })
      .finally(() => this.#inFlight.delete(apiVersion));
    this.#inFlight.set(apiVersion, p);
    return p;
  }
}
