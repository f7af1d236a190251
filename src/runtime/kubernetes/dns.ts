/** The host a Service gets in cluster DNS (Knative's `network.GetServiceHostname`). Pure. */
export function serviceHostname(name: string, namespace: string, clusterDomain = 'cluster.local'): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}
