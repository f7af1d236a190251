/** Resolving a Knative Destination (`ref`, `uri`, or `ref` + relative `uri`) to a URL, as Knative's URIResolver does. Pure. */
import type { Destination } from '../../../broker/types.js';
import type { KObject } from '../../api/types.js';

/** What resolution reads: Services and Brokers by namespace and name. */
export interface AddressableLookup {
  service(namespace: string, name: string): KObject | undefined;
  broker(namespace: string, name: string): KObject | undefined;
  /**
   * A cluster's own `v1` Service, as the URL it resolves to (`http://<name>.<ns>.svc.cluster.local[:port]`), or
   * undefined when there is none. Absent where there is no cluster (embedded).
   */
  coreService?(namespace: string, name: string): { url: string } | undefined;
}

/** The reference to a cluster's v1 Service (for requeueing the Triggers and sources that point at one). */
export interface CoreServiceDirectory {
  service(namespace: string, name: string): { url: string } | undefined;
  /** A v1 Service appeared, changed or went. */
  watch(listener: (namespace: string, name: string) => void): () => void;
}

export type Resolution = { ok: true; uri: string } | { ok: false; message: string };

const SERVING_GROUP = 'serving.knative.dev';
const EVENTING_GROUP = 'eventing.knative.dev';

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function groupOf(apiVersion: string | undefined): string | undefined {
  if (apiVersion === undefined || apiVersion === '') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The URL an addressable object publishes: `status.address.url`, else `status.url`. */
export function addressOf(obj: KObject): string | undefined {
  const status = record(obj.status);
  const address = record(status.address).url;
  if (typeof address === 'string' && address !== '') return address;
  return typeof status.url === 'string' && status.url !== '' ? status.url : undefined;
}

/** Does `dest.ref` point at this object (kind, name, namespace defaulting to `namespace`)? */
export function refersTo(dest: Destination | undefined, namespace: string, target: { kind: string; namespace: string; name: string }): boolean {
  const ref = dest?.ref;
  if (!ref) return false;
  return ref.kind === target.kind && ref.name === target.name && (ref.namespace ?? namespace) === target.namespace;
}

function resolveRef(ref: NonNullable<Destination['ref']>, namespace: string, lookup: AddressableLookup): Resolution {
  const ns = ref.namespace ?? namespace;
  const group = groupOf(ref.apiVersion);
  const describe = `${ref.kind} ${ns}/${ref.name}`;
  if (ref.kind === 'Service' && (group === undefined || group === SERVING_GROUP)) {
    const svc = lookup.service(ns, ref.name);
    if (!svc) return { ok: false, message: `failed to get object ${ns}/${ref.name}: services.${SERVING_GROUP} "${ref.name}" not found` };
    const url = addressOf(svc);
    return url ? { ok: true, uri: url } : { ok: false, message: `URL missing in address of ${describe} (the Service has not been reconciled yet)` };
  }
  if (ref.kind === 'Service' && group === '') {
    // Knative resolves a core Service to its cluster DNS name; Wisp also checks it exists, so status says so.
    if (!lookup.coreService) return { ok: false, message: `cannot resolve v1 Service "${ref.name}": a Kubernetes Service is resolved in Kubernetes mode only (wisp up --runtime kubernetes)` };
    const svc = lookup.coreService(ns, ref.name);
    return svc ? { ok: true, uri: svc.url } : { ok: false, message: `failed to get object ${ns}/${ref.name}: services "${ref.name}" not found` };
  }
  if (ref.kind === 'Broker' && (group === undefined || group === EVENTING_GROUP)) {
    const broker = lookup.broker(ns, ref.name);
    if (!broker) return { ok: false, message: `failed to get object ${ns}/${ref.name}: brokers.${EVENTING_GROUP} "${ref.name}" not found` };
    const url = addressOf(broker);
    return url ? { ok: true, uri: url } : { ok: false, message: `address not set for ${describe}` };
  }
  return {
    ok: false,
    message: `unsupported ref ${ref.apiVersion ?? '<no apiVersion>'} ${ref.kind} "${ref.name}": Wisp resolves ${SERVING_GROUP}/v1 Service, ${EVENTING_GROUP}/v1 Broker and (in Kubernetes mode) v1 Service`,
  };
}

/** Resolves a destination in `namespace` (the namespace of the object that holds it). */
export function resolveDestination(dest: Destination, namespace: string, lookup: AddressableLookup): Resolution {
  if (dest.ref) {
    const base = resolveRef(dest.ref, namespace, lookup);
    if (!base.ok || dest.uri === undefined || dest.uri === '') return base;
    try {
      return { ok: true, uri: joinUri(base.uri, dest.uri) };
    } catch {
      return { ok: false, message: `cannot join "${dest.uri}" to ${base.uri}` };
    }
  }
  if (dest.uri !== undefined && dest.uri !== '') {
    try {
      const u = new URL(dest.uri);
      // Admission refuses other schemes; this also stops one stored before that rule (a `file:` sink is never read).
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, message: `URI "${dest.uri}" is not http or https` };
      if (u.host === '') return { ok: false, message: `URI "${dest.uri}" has no host` };
      return { ok: true, uri: dest.uri };
    } catch {
      return { ok: false, message: `URI "${dest.uri}" is not an absolute URL` };
    }
  }
  return { ok: false, message: 'destination has neither ref nor uri' };
}

/**
 * `ref` + `uri`: the URI resolved against the ref's address. An address with a path prefix (a Service's
 * `http://127.0.0.1:8080/<namespace>/<service>`) is treated as the Service's root, so `uri` lands where it would on
 * a host of the Service's own: `/events` and `events` both become `.../<namespace>/<service>/events`. Throws on an
 * unparsable URI.
 */
export function joinUri(base: string, uri: string): string {
  const b = new URL(base);
  const prefix = b.pathname.replace(/\/+$/, '');
  if (prefix === '' || /^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('//')) return new URL(uri, base).toString();
  const under = new URL(uri, 'http://service.invalid/');
  return `${b.origin}${prefix}${under.pathname}${under.search}${under.hash}`;
}
