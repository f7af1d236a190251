/** The Kubernetes workload runtime: one Deployment + Service per Revision, through the API server. */
export { KubernetesRuntime } from './runtime.js';
export type { KubernetesRuntimeLogger, KubernetesRuntimeOptions } from './runtime.js';
export {
  ERROR_CODES as KUBERNETES_RUNTIME_ERROR_CODES,
  InitialSyncTimeoutError,
  KubernetesApiError,
  KubernetesRuntimeClosedError,
  KubernetesRuntimeError,
} from './errors.js';
export { deploymentName, REVISION_LABEL, REVISION_UID_LABEL } from './objects.js';
export { ClusterServices, parseServiceHost, routeToEndpoint, serviceHostname, serviceUrl } from './cluster-services.js';
export type { ClusterService, ClusterServicePort, ClusterServicesOptions } from './cluster-services.js';
