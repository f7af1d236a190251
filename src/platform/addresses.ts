/**
 * The URLs a ksvc's `status.address.url` and a Broker's address are built on: what a workload or a producer connects
 * to. Embedded and outside the cluster: the local listeners (a Wisp on a laptop is reached at 127.0.0.1). In the
 * cluster (Wisp in a Pod): the Services manifests/ gives it, by their cluster DNS names, as Knative publishes
 * `http://broker-ingress.knative-eventing.svc.cluster.local/<ns>/<broker>`. WISP_ACTIVATOR_URL and
 * WISP_BROKER_INGRESS_URL override both (a proxy or a LoadBalancer in front). Pure.
 */
import { serviceHostname } from '../runtime/kubernetes/dns.js';

/** The Services of manifests/ in front of the activator and the broker ingress. */
export const ACTIVATOR_SERVICE = 'wisp-activator';
export const BROKER_INGRESS_SERVICE = 'wisp-broker-ingress';

export function publicBaseUrls(opts: {
  given?: { activator?: string; brokerIngress?: string };
  /** Wisp's own namespace when it runs in the cluster; undefined outside it (or embedded). */
  inClusterNamespace?: string;
}): { activator?: string; brokerIngress?: string } {
  const ns = opts.inClusterNamespace;
  const activator = opts.given?.activator ?? (ns !== undefined ? `http://${serviceHostname(ACTIVATOR_SERVICE, ns)}` : undefined);
  const brokerIngress = opts.given?.brokerIngress ?? (ns !== undefined ? `http://${serviceHostname(BROKER_INGRESS_SERVICE, ns)}` : undefined);
  return { ...(activator !== undefined && { activator }), ...(brokerIngress !== undefined && { brokerIngress }) };
}
