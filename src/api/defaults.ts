/** Serving defaults, as Knative's `config-defaults` ships them. */
export const SERVING_DEFAULTS = Object.freeze({
  /** Knative's `container-name-template` default. */
  containerName: 'user-container',
  /** `revision-timeout-seconds`. */
  timeoutSeconds: 300,
  /** `max-revision-timeout-seconds`: Knative rejects `timeoutSeconds` above it. */
  maxTimeoutSeconds: 600,
  /** `container-concurrency` (0 = unlimited). */
  containerConcurrency: 0,
  /** `container-concurrency-max-limit`. */
  maxContainerConcurrency: 1000,
  /** Revision names are `<service>-00001`: a Service name leaves room for the 6-character suffix within 63. */
  maxServiceNameLength: 63 - '-00001'.length,
  defaultNamespace: 'default',
});
