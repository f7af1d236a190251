/** Well-known labels and annotations (Knative's names). */

/** On Revisions, Routes and Configurations: the Service they belong to. Admission finds a Service's Revisions by it. */
export const SERVICE_LABEL = 'serving.knative.dev/service';
/** On Revisions: the Configuration that cut them. */
export const CONFIGURATION_LABEL = 'serving.knative.dev/configuration';
/** On Brokers: the backend class. Immutable once the Broker exists. */
export const BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';
/** Namespace and name of the autoscaler's platform-wide ConfigMap. */
export const AUTOSCALER_CONFIGMAP = Object.freeze({ namespace: 'knative-serving', name: 'config-autoscaler' });
/** Namespace and name of Knative Serving's defaults for revisions (timeouts, concurrency, container name, resources). */
export const DEFAULTS_CONFIGMAP = Object.freeze({ namespace: 'knative-serving', name: 'config-defaults' });
/** On Brokers: events waiting per Trigger (Memory, Redis classes) before the ingress answers 503. */
export const MAX_BACKLOG_ANNOTATION = 'wisp.dev/max-backlog';
/** On revision templates: how long a replica may take to become ready (Knative's name; a Go duration). */
export const PROGRESS_DEADLINE_ANNOTATION = 'serving.knative.dev/progress-deadline';
