/** The contract between `wisp up` (src/cli) and the composition root (src/platform). */

export type BrokerClass = 'Memory' | 'Redis' | 'Kafka';

export interface PlatformOptions {
  /** Where the store and replica records live (default `.wisp` in the working directory). */
  stateDir: string;
  /** Interface the service and broker ingresses bind to (default 127.0.0.1). */
  host: string;
  /** Interface the control API binds to (default 127.0.0.1, whatever `host` says). */
  apiHost: string;
  /**
   * The control API's bearer token (env WISP_API_TOKEN) instead of the one `wisp up` makes in `<state-dir>/token`:
   * in the cluster, from a Secret every controller replica shares, so a client's token survives a leader change.
   */
  apiToken?: string;
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
  /**
   * What this process runs (env WISP_COMPONENT). `all` (default): everything, as `wisp up` on a laptop. Kubernetes mode
   * only, one Deployment each (manifests/): `controller` (reconcilers, the autoscaler and its stats endpoint, the
   * control API), `activator` (the Service ingress; reports concurrency to the controller's autoscaler), `broker`
   * (the broker ingress and the Triggers' consumers).
   */
  component?: Component;
  /** The controller's stats endpoint for activators (env WISP_AUTOSCALER_PORT, default 8082), bound to `host`. */
  autoscalerPort?: number;
  /**
   * Where an activator sends its stats (env WISP_AUTOSCALER_URL). Default in the cluster: the `wisp-autoscaler`
   * Service of Wisp's namespace on 8082; outside it, required.
   */
  autoscalerUrl?: string;
  /**
   * Knative's serve mode with a real proxy as the engine (flag --serve-engine, env WISP_SERVE_ENGINE; default none:
   * the activator alone). `haproxy`: haproxy owns the ingress port and serves warm revisions itself, the activator moves
   * to an internal port and takes cold revisions, splits and everything else. Embedded mode, component `all` only.
   * `binary`: WISP_HAPROXY (default `haproxy` on PATH, then /usr/sbin/haproxy); `threads`: WISP_HAPROXY_THREADS (default 1).
   */
  serveEngine?: ServeEngineOptions;
  /**
   * Processes that run the Service ingress (activator) and the broker ingress and dispatch, sharing the ingress ports
   * (env WISP_DATA_PLANE_PROCESSES; embedded only). Default 1: all in this process. See workers.ts.
   */
  dataPlaneProcesses?: number;
}

export type ServeEngineKind = 'none' | 'haproxy';
export const SERVE_ENGINES: readonly ServeEngineKind[] = ['none', 'haproxy'];

export interface ServeEngineOptions {
  engine: 'haproxy';
  binary?: string;
  threads?: number;
}

export type Component = 'all' | 'controller' | 'activator' | 'broker';
export const COMPONENTS: readonly Component[] = ['all', 'controller', 'activator', 'broker'];
export const DEFAULT_AUTOSCALER_PORT = 8082;

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
  /**
   * The local listeners: the Service ingress and the broker ingress (absent in a component that does not run them),
   * the control API (a data-plane component serves only /healthz, /readyz and /metrics and what its ServiceAccount may
   * read there), and the controller's autoscaler stats endpoint.
   */
  readonly urls: { ingress?: string; broker?: string; api: string; autoscaler?: string };
  /** The component this process runs (`all` unless --component said otherwise). */
  readonly component?: Component;
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
