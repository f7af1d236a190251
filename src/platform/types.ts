/** The contract between `wisp up` (src/cli) and the composition root (src/platform). */

export type BrokerClass = 'Memory' | 'Redis' | 'Kafka';

export interface PlatformOptions {
  /** Where the store and replica records live (default `.wisp` in the working directory). */
  stateDir: string;
  /** Interface the service and broker ingresses bind to (default 127.0.0.1). */
  host: string;
  /** Interface the control API binds to (default 127.0.0.1, whatever `host` says). */
  apiHost: string;
  /** PEM certificate (chain) and key files: the control API then serves https. */
  apiTls?: { certFile: string; keyFile: string };
  /** Service ingress, the activator (default 8080). 0 = any free port. */
  ingressPort: number;
  /** Broker ingress (default 8081). */
  brokerPort: number;
  /** Control API (default 8090). */
  apiPort: number;
  /** Default broker class for Brokers without the class annotation. */
  brokerClass: BrokerClass;
  /** Manifests (files, directories) applied at start-up, as `wisp apply -f` would. */
  manifests: string[];
  /** Redis for Redis-class Brokers (default redis://127.0.0.1:6379) and the per-installation key prefix (default `wisp`). */
  redisUrl?: string;
  redisPrefix?: string;
  /** Kafka bootstrap servers for Kafka-class Brokers (none: that class reports how to configure it). */
  kafkaBrokers?: string[];
  /** Events waiting per Trigger (Memory, Redis) before the broker ingress answers 503, for Brokers without `wisp.dev/max-backlog` (env WISP_BROKER_MAX_BACKLOG, default 10 000). */
  brokerMaxBacklog?: number;
  /** Autoscaler tick (default 2000 ms). */
  autoscalerTickMs?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** `text` (default): one readable line per event; `json`: pino's JSON lines, for log collectors. */
  logFormat?: 'text' | 'json';
  /** `embedded` (default): local processes and store.json. `kubernetes`: the cluster of the kubeconfig (env WISP_RUNTIME). */
  runtime?: RuntimeMode;
  /** Kubernetes mode: the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster), its context, one namespace only. */
  kubernetes?: { kubeconfig?: string; context?: string; namespace?: string };
  /**
   * Base URLs others reach the activator and the broker ingress at, for a Service's `status.address.url` and a
   * Broker's address (env WISP_ACTIVATOR_URL, WISP_BROKER_INGRESS_URL). Default: the local listeners; Kubernetes mode
   * in the cluster: the `wisp-activator` and `wisp-broker-ingress` Services of Wisp's namespace (see addresses.ts).
   */
  publicUrls?: { activator?: string; brokerIngress?: string };
}

export type RuntimeMode = 'embedded' | 'kubernetes';
export const RUNTIME_MODES: readonly RuntimeMode[] = ['embedded', 'kubernetes'];

export interface ApplyOutcome {
  /** `service.serving.knative.dev/hello` */
  ref: string;
  namespace: string;
  result: 'created' | 'configured' | 'unchanged';
  warnings: string[];
}

export interface Platform {
  readonly urls: { ingress: string; broker: string; api: string };
  /** `embedded` or what Kubernetes mode talks to (`kubernetes (https://..., context ..., all namespaces)`). */
  readonly runtime?: string;
  /** The file holding the control API's bearer token (`<state-dir>/token`). */
  readonly tokenFile: string;
  /** What was applied at start-up. */
  readonly applied: ApplyOutcome[];
  /** Drains in-flight requests, stops replicas, flushes the store. Idempotent. */
  close(): Promise<void>;
}

export type StartPlatform = (options: PlatformOptions) => Promise<Platform>;
