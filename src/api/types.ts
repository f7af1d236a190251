/** Knative-shaped resource types shared by the control plane, runtime, activator and CLI. */

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid?: string; controller?: boolean }[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  severity?: 'Error' | 'Warning' | 'Info';
  lastTransitionTime?: string;
}

export interface KObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  /** ConfigMaps carry `data` instead of `spec`. */
  data?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
}

export interface ContainerPort {
  containerPort?: number;
  name?: string;
  protocol?: string;
}

export interface HTTPGetAction {
  path?: string;
  port?: number;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: { name: string; value: string }[];
}

export interface Probe {
  httpGet?: HTTPGetAction;
  tcpSocket?: { port?: number; host?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  /** Kubernetes' requests and limits (quantities by resource name); on Kubernetes they go into the Deployment. */
  resources?: ResourceRequirements;
}

/** A container's `resources`, as Kubernetes' ResourceRequirements (quantities such as `400m`, `128Mi`). */
export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface RevisionSpec {
  containers: Container[];
  /** 0 = unlimited. */
  containerConcurrency?: number;
  /** Default 300. */
  timeoutSeconds?: number;
}

export interface RevisionTemplate {
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: RevisionSpec;
}

export interface TrafficTarget {
  tag?: string;
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  url?: string;
}

export interface ServiceSpec {
  template: RevisionTemplate;
  traffic?: TrafficTarget[];
}

export interface ServiceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  url?: string;
  address?: { url: string };
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
  traffic?: TrafficTarget[];
}

export interface RevisionStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  actualReplicas?: number;
  desiredReplicas?: number;
  containerStatuses?: { name: string; imageDigest?: string }[];
}

export interface RouteSpec {
  traffic: TrafficTarget[];
}

export interface RouteStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  url?: string;
  traffic?: TrafficTarget[];
}

export type Service = KObject<ServiceSpec, ServiceStatus>;
/** A Revision's spec is the template spec it was cut from; its metadata carries the template's annotations and labels. */
export type Revision = KObject<RevisionSpec, RevisionStatus>;
export type Route = KObject<RouteSpec, RouteStatus>;

/** Annotation the CLI puts on applied objects: the folder of the file they came from, to resolve `workingDir` and relative commands. */
export const SOURCE_DIR_ANNOTATION = 'wisp.dev/source-dir';
