import type { RouteEntry } from '../../../activator/types.js';
import { requireKind } from '../../api/kinds.js';
import type { Revision, Route } from '../../api/types.js';
import type { RevisionRuntimeStatus, WorkloadRuntime } from '../../runtime/types.js';
import type { ResourceStore } from '../resource-store.js';
import { CONFIG_DOMAIN, domainOf, revisionState, type RoutingSink } from './reconciler.js';
import { revisionKey } from './names.js';
import { routeHosts } from './traffic.js';

const kind = requireKind;
const REVISIONS = kind('revisions');
const ROUTES = kind('routes');
const CONFIGMAPS = kind('configmaps');


export interface RoutingViewOptions {
  /** Routes, Revisions and config-domain, read only (the activator's own list-watch of the API server). */
  store: Pick<ResourceStore, 'get' | 'list' | 'watch' | 'serves'>;
  /** Ready endpoints and failures of revisions, read only (status and onChange; never deploy or scale). */
  runtime: Pick<WorkloadRuntime, 'status' | 'onChange'>;
  activator: RoutingSink;
}

/**
 * The activator's routing table built from what the controller wrote, for an activator that runs in a process of its
 * own (`wisp up --component activator`, Knative's activator Deployment): hosts from each Route's `status.traffic`
 * (the serving reconciler's resolved split, so both route alike through routeHosts), per-revision settings from the
 * Revisions' spec, and ready endpoints and failures from the runtime's watch of EndpointSlices, Pods and Deployments.
 * It writes nothing; the controller's ServingReconciler remains the one that resolves traffic and cuts revisions.
 */
export class RoutingView {
  readonly #o: RoutingViewOptions;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #known = new Set<string>();

  constructor(options: RoutingViewOptions) {
    this.#o = options;
  }

  start(): void {
    const { store, runtime } = this.#o;
    this.#unsubscribe.push(
      store.watch((ev) => {
        if (ev.kind.group === ROUTES.group && ev.kind.kind === 'Route') this.#publishRouting();
        else if (ev.kind.group === REVISIONS.group && ev.kind.kind === 'Revision') {
          const key = revisionKey(ev.object.metadata.namespace, ev.object.metadata.name);
          if (ev.type === 'DELETED') this.#forget(key);
          else this.#push(ev.object as Revision, runtime.status(key));
        } else if (ev.kind === CONFIGMAPS && ev.object.metadata.namespace === CONFIG_DOMAIN.namespace && ev.object.metadata.name === CONFIG_DOMAIN.name) {
          this.#publishRouting();
        }
      }),
      runtime.onChange((key, status) => {
        const [namespace = '', name = ''] = key.split('/');
        const rev = store.get(REVISIONS, namespace, name) as Revision | undefined;
        if (rev) this.#push(rev, status);
      }),
    );
    for (const rev of store.list(REVISIONS) as Revision[]) this.#push(rev, runtime.status(revisionKey(rev.metadata.namespace, rev.metadata.name)));
    this.#publishRouting();
  }

  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #push(rev: Revision, status: RevisionRuntimeStatus | undefined): void {
    const state = revisionState(rev, status);
    this.#known.add(state.key);
    this.#o.activator.upsertRevision(state);
  }

  #forget(key: string): void {
    if (this.#known.delete(key)) this.#o.activator.removeRevision(key);
  }

  #publishRouting(): void {
    const domain = domainOf(this.#o.store);
    const hosts = new Map<string, RouteEntry>();
    for (const route of this.#o.store.list(ROUTES) as Route[]) {
      const traffic = route.status?.traffic ?? [];
      const targets = traffic.flatMap((t) => (t.revisionName ? [{ revisionName: t.revisionName, percent: t.percent ?? 0, ...(t.tag && { tag: t.tag }) }] : []));
      for (const [h, e] of routeHosts(route.metadata.namespace, route.metadata.name, targets, domain)) hosts.set(h, e);
    }
    this.#o.activator.setRouting({ hosts });
  }
}
