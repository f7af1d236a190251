import type { RouteEntry, RoutingSnapshot } from './types.js';

/** Host header → route, and route → revision by traffic percent. Pure; the random source is injected. */
export interface RouterOptions {
  random?: () => number;
}

const CACHE_LIMIT = 1024;
/** `/<namespace>/<service>` then nothing, `/...` or `?...`: DNS-label-like names only. */
const PATH_ROUTE = /^\/([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\/([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)((?:[/?].*)?)$/i;

/** A request routed by its path prefix. */
export interface PathRoute {
  entry: RouteEntry;
  /** The request target the replica gets: the rest of the path (at least `/`) and the query. */
  path: string;
  /** `/<namespace>/<service>`, as stripped. */
  prefix: string;
}
const EMPTY: RoutingSnapshot = { hosts: new Map() };

export class Router {
  #snapshot: RoutingSnapshot = EMPTY;
  /** raw Host header → entry (or null for unknown), reset with each snapshot */
  #cache = new Map<string, RouteEntry | null>();
  readonly #random: () => number;

  constructor(opts: RouterOptions = {}) {
    this.#random = opts.random ?? Math.random;
  }

  setSnapshot(snapshot: RoutingSnapshot): void {
    this.#snapshot = snapshot;
    this.#cache = new Map();
  }

  /** The route for a raw Host header value, or undefined when no Service answers to it. */
  resolve(rawHost: string | undefined): RouteEntry | undefined {
    if (rawHost === undefined) return undefined;
    const cached = this.#cache.get(rawHost);
    if (cached !== undefined) return cached ?? undefined;
    const host = normaliseHost(rawHost);
    const entry = host === undefined ? undefined : this.#snapshot.hosts.get(host);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(rawHost, entry ?? null);
    return entry;
  }

  /**
   * The route for a path-addressed request, `/<namespace>/<service>[/rest]` (a Service's `status.address.url`, for
   * requests whose Host is not a Service host): the entry, the path the replica gets (`/rest`, with the query) and
   * the stripped prefix. Undefined when the first two segments name no Service.
   */
  resolvePath(path: string): PathRoute | undefined {
    const m = PATH_ROUTE.exec(path);
    if (m === null) return undefined;
    const [, namespace = '', service = '', rest = ''] = m;
    const entry = this.#snapshot.hosts.get(`${service}.${namespace}`.toLowerCase());
    if (entry === undefined) return undefined;
    return { entry, path: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest, prefix: `/${namespace}/${service}` };
  }

  /** A revision key of the route, weighted by percent; undefined when no target carries traffic. */
  pick(entry: RouteEntry): string | undefined {
    return pickTarget(entry, this.#random);
  }
}

/** Lower-case host without port; undefined when the value cannot be a host name. */
export function normaliseHost(raw: string): string | undefined {
  let h = raw.trim();
  if (h.length === 0 || h.length > 255) return undefined;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    h = h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.length === 0 || /[\s/\\@]/.test(h)) return undefined;
  return h.toLowerCase();
}

/** Weighted random choice over targets with percent > 0. */
export function pickTarget(entry: RouteEntry, random: () => number): string | undefined {
  const targets = entry.targets;
  if (targets.length === 1) {
    const only = targets[0]!;
    return only.percent > 0 ? only.revision : undefined;
  }
  let total = 0;
  for (const t of targets) if (t.percent > 0) total += t.percent;
  if (total <= 0) return undefined;
  let r = random() * total;
  let last: string | undefined;
  for (const t of targets) {
    if (t.percent <= 0) continue;
    last = t.revision;
    if (r < t.percent) return t.revision;
    r -= t.percent;
  }
  return last;
}

/** The 404 body for an unknown host. */
export function unknownHostMessage(rawHost: string | undefined): string {
  const shown = rawHost === undefined ? '' : rawHost.slice(0, 256);
  return (
    `no Service found for host ${JSON.stringify(shown)}\n` +
    'Services answer on <service>.<namespace>.localhost (and <service>.<namespace>); ' +
    'a traffic tag on <tag>-<service>.<namespace>.localhost; ' +
    'any other host on the path /<namespace>/<service>/ (a Service\'s status.address.url).\n'
  );
}
