/**
 * The cluster's own `v1` Services, for Knative destinations that name one (`ref: {apiVersion: v1, kind: Service}`):
 * resolution reads their ports, and a Wisp that runs outside the cluster, where `*.svc.cluster.local` does not resolve
 * and ClusterIPs do not route, delivers to a ready endpoint of the Service's EndpointSlices instead (as the activator
 * does for Revisions). List-watched with the runtime's reflector; the choice of endpoint is pure (`routeToEndpoint`).
 */
import type { KubeConfig, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { sleep, systemClock, type Clock } from '../../clock.js';
import { apiError, clusterServiceSources, makeClients } from './api.js';
import { InitialSyncTimeoutError } from './errors.js';
import { SERVICE_NAME_LABEL } from './objects.js';
import { Reflector, type Listed, type ListWatchSource } from './reflector.js';
import { serviceHostname } from './dns.js';

/** One port of a Service, as resolution needs it. */
export interface ClusterServicePort {
  name?: string;
  port: number;
}

export interface ClusterService {
  namespace: string;
  name: string;
  ports: ClusterServicePort[];
}

// Pure, in a module of its own so that the embedded default (addresses.ts) can use it without loading client-node.
export { serviceHostname } from './dns.js';

/**
 * The URL a `v1` Service ref resolves to: `http://<name>.<ns>.svc.<domain>`, with `:<port>` when the Service's port
 * (the one named `http`, else the first) is not 80.
 */
export function serviceUrl(svc: ClusterService, clusterDomain = 'cluster.local'): string {
  const port = (svc.ports.find((p) => p.name === 'http') ?? svc.ports[0])?.port;
  return `http://${serviceHostname(svc.name, svc.namespace, clusterDomain)}${port !== undefined && port !== 80 ? `:${port}` : ''}`;
}

/** `<svc>.<ns>.svc[.<domain>]` of an origin's host, or undefined for any other host. */
export function parseServiceHost(host: string, clusterDomain = 'cluster.local'): { name: string; namespace: string } | undefined {
  const lower = host.toLowerCase().replace(/\.$/, '');
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\..+)?$/.exec(lower);
  if (!m) return undefined;
  if (m[5] !== undefined && m[5] !== `.${clusterDomain}`) return undefined;
  return { name: m[1]!, namespace: m[3]! };
}

/**
 * Where to send a request for `origin` (`http://<svc>.<ns>.svc.cluster.local[:port]`): a ready endpoint's origin, the
 * `n`-th in turn (round robin), or an error saying why none can be used. Undefined when the origin is no Service's.
 */
export function routeToEndpoint(
  origin: string,
  lookup: { service(ns: string, name: string): V1Service | undefined; slices(ns: string, name: string): readonly V1EndpointSlice[] },
  n: number,
  clusterDomain = 'cluster.local',
): { origin: string } | { error: string } | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  const target = parseServiceHost(url.hostname, clusterDomain);
  if (!target) return undefined;
  const { namespace, name } = target;
  const svc = lookup.service(namespace, name);
  if (!svc) return { error: `service ${namespace}/${name} not found (a v1 Service subscriber, reached through its endpoints from outside the cluster)` };
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const svcPort = svc.spec?.ports?.find((p) => p.port === port);
  if (!svcPort) return { error: `service ${namespace}/${name} has no port ${port} (it has ${(svc.spec?.ports ?? []).map((p) => p.port).join(', ') || 'none'})` };
  const wanted = svcPort.name ?? '';
  const addresses: { ip: string; port: number }[] = [];
  for (const slice of lookup.slices(namespace, name)) {
    const slicePort = slice.ports?.find((p) => (p.name ?? '') === wanted);
    if (slicePort?.port === undefined || slicePort.port === null) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      const ip = ep.addresses?.[0];
      if (ip) addresses.push({ ip, port: slicePort.port });
    }
  }
  if (addresses.length === 0) return { error: `service ${namespace}/${name} has no ready endpoint for port ${port}` };
  addresses.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port));
  const pick = addresses[n % addresses.length]!;
  const host = pick.ip.includes(':') ? `[${pick.ip}]` : pick.ip;
  return { origin: `${url.protocol}//${host}:${pick.port}` };
}

export interface ClusterServicesOptions {
  kubeConfig: KubeConfig;
  /** Watch only this namespace (`--namespace-scope`); default all. */
  namespace?: string;
  clock?: Clock;
  clusterDomain?: string;
  onError?: (err: unknown) => void;
  initialSyncTimeoutMs?: number;
}

/** The cluster's v1 Services and their EndpointSlices, list-watched, for resolution and out-of-cluster delivery. */
export class ClusterServices {
  readonly #services: Reflector<V1Service>;
  readonly #slices: Reflector<V1EndpointSlice>;
  readonly #listeners = new Set<(namespace: string, name: string) => void>();
  readonly #clusterDomain: string;
  #turn = 0;

  private constructor(opts: ClusterServicesOptions) {
    const sources = clusterServiceSources(makeClients(opts.kubeConfig), opts.namespace);
    const clock = opts.clock ?? systemClock;
    this.#clusterDomain = opts.clusterDomain ?? 'cluster.local';
    const keyOfObject = (o: Listed): string | undefined => (o.metadata?.name ? `${o.metadata.namespace ?? ''}/${o.metadata.name}` : undefined);
    const reflector = <T extends Listed>(source: ListWatchSource<T>, keyOf: (o: T) => string | undefined, notify: boolean) =>
      new Reflector<T>({
        source,
        clock,
        keyOf,
        onChange: (keys) => {
          if (!notify) return;
          for (const k of keys) {
            const slash = k.indexOf('/');
            for (const l of [...this.#listeners]) l(k.slice(0, slash), k.slice(slash + 1));
          }
        },
        onError: (err, during) => opts.onError?.(apiError(`${during} ${source.what}`, err)),
      });
    this.#services = reflector(sources.services, keyOfObject, true);
    this.#slices = reflector(
      sources.slices,
      (s) => {
        const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
        return svc ? `${s.metadata?.namespace ?? ''}/${svc}` : undefined;
      },
      false,
    );
  }

  /**
   * Lists both kinds (so resolution is complete before reconcilers ask), then watches them. Rejects with
   * InitialSyncTimeoutError (and stops) when the lists do not succeed within `initialSyncTimeoutMs` (default 30 s).
   */
  static async create(opts: ClusterServicesOptions): Promise<ClusterServices> {
    let lastError: unknown;
    const cs = new ClusterServices({
      ...opts,
      onError: (err) => {
        lastError = err;
        opts.onError?.(err);
      },
    });
    const timeoutMs = opts.initialSyncTimeoutMs ?? 30_000;
    const abort = new AbortController();
    try {
      const synced = Promise.all([cs.#services.start(), cs.#slices.start()]).then(() => true);
      const timedOut = sleep(opts.clock ?? systemClock, timeoutMs, abort.signal).then(
        () => false,
        () => false,
      );
      if (!(await Promise.race([synced, timedOut]))) {
        const pending = [cs.#services, cs.#slices].filter((r) => !r.synced).map((r) => r.what);
        throw new InitialSyncTimeoutError(pending, timeoutMs, { cause: lastError });
      }
    } catch (err) {
      await cs.close();
      throw err;
    } finally {
      abort.abort();
    }
    return cs;
  }

  /** A Service with the URL a `v1` Service ref to it resolves to (see serviceUrl). */
  service(namespace: string, name: string): (ClusterService & { url: string }) | undefined {
    const svc = this.#services.byKey(`${namespace}/${name}`)[0];
    if (!svc) return undefined;
    const ports = (svc.spec?.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port }));
    const found = { namespace, name, ports };
    return { ...found, url: serviceUrl(found, this.#clusterDomain) };
  }

  /** A Service appeared, changed or went: `listener(namespace, name)`. */
  watch(listener: (namespace: string, name: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** For the HTTP sender outside the cluster: a ready endpoint for a Service's origin, in turn. */
  route(origin: string): { origin: string } | { error: string } | undefined {
    return routeToEndpoint(
      origin,
      {
        service: (ns, name) => this.#services.byKey(`${ns}/${name}`)[0],
        slices: (ns, name) => this.#slices.byKey(`${ns}/${name}`),
      },
      this.#turn++,
      this.#clusterDomain,
    );
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await Promise.all([this.#services.stop(), this.#slices.stop()]);
  }
}
