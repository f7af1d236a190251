/** Naming rules shared by the serving reconciler: revision names, hosts and URLs. */

export const SERVICE_LABEL = 'serving.knative.dev/service';
export const CONFIGURATION_LABEL = 'serving.knative.dev/configuration';
export const CONFIGURATION_GENERATION_LABEL = 'serving.knative.dev/configurationGeneration';
export const ROUTE_LABEL = 'serving.knative.dev/route';
export const TEMPLATE_HASH_ANNOTATION = 'wisp.dev/template-hash';

/** `hello-00001`: Knative's generated revision name for the n-th template. */
export function revisionName(service: string, n: number): string {
  return `${service}-${String(n).padStart(5, '0')}`;
}

/** The revision counter encoded in a generated name, or undefined for a user-chosen name. */
export function revisionNumber(service: string, name: string): number | undefined {
  const m = new RegExp(`^${service.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{5,})$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

export function revisionKey(namespace: string, revision: string): string {
  return `${namespace}/${revision}`;
}

/**
 * The host names a Service (or one of its tags) answers on, lower-case, without port: `<svc>.<ns>.<domain>` first
 * (config-domain's, default `localhost`), then `<svc>.<ns>.localhost` and `<svc>.<ns>`.
 */
export function hostsFor(service: string, namespace: string, tag?: string, domain = 'localhost'): string[] {
  const base = tag ? `${tag}-${service}.${namespace}` : `${service}.${namespace}`;
  return [...new Set([`${base}.${domain.toLowerCase()}`, `${base}.localhost`, base])];
}

/** `http://hello.default.localhost:8080` (the port is left out when it is 80). */
export function urlFor(service: string, namespace: string, ingressPort: number, tag?: string, domain?: string): string {
  const host = hostsFor(service, namespace, tag, domain)[0];
  return ingressPort === 80 ? `http://${host}` : `http://${host}:${ingressPort}`;
}

/**
 * A Service's in-platform address (`status.address.url`, Knative's in-cluster address): the Service ingress by IP
 * with the Service in the path, `http://127.0.0.1:8080/<namespace>/<service>`. Any HTTP client reaches it with no
 * DNS set-up (curl, Node's fetch, Python, Go); the activator strips the prefix before proxying. A wildcard listen
 * address (0.0.0.0, ::) is reached on loopback.
 */
export function addressUrlFor(service: string, namespace: string, ingressHost: string, ingressPort: number): string {
  const host = ingressHost === '' || ingressHost === '0.0.0.0' ? '127.0.0.1' : ingressHost === '::' ? '[::1]' : ingressHost.includes(':') && !ingressHost.startsWith('[') ? `[${ingressHost}]` : ingressHost;
  return `http://${host}${ingressPort === 80 ? '' : `:${ingressPort}`}/${namespace}/${service}`;
}
