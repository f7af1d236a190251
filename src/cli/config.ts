/** Pure parsing and validation of CLI flag and environment values. No I/O. */
import { TOKEN_PATTERN } from '../control/auth.js';
import { LEADER_ELECTION_DEFAULTS, leaseTimingsProblem, scaledTimings, type LeaseTimings } from '../control/kube/lease.js';
import type { LeaderElectionOptions } from '../platform/leader.js';
import { COMPONENTS, DEFAULT_AUTOSCALER_PORT, RUNTIME_MODES, SERVE_ENGINES, type PlatformOptions } from '../platform/types.js';
import { BROKER_CLASSES, CLI_DEFAULTS, LOG_LEVELS, type LogLevel } from './defaults.js';
import { UsageError } from './errors.js';

/** Parses a TCP port (integer 0..65535); `what` names the flag or variable in the error. */
export function parsePort(value: string, what: string): number {
  const trimmed = value.trim();
  const n = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`wisp: invalid value '${value}' for ${what}: a port must be an integer from 0 to 65535`);
  }
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration like `60s`, `1m30s`, `500ms`, `2h` or a bare number of seconds. */
export function parseDuration(value: string, what: string): number {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
    consumed = re.lastIndex;
  }
  if (trimmed === '' || consumed !== trimmed.length) {
    throw new UsageError(`wisp: invalid value '${value}' for ${what}: expected a duration like 60s, 2m or 500ms`);
  }
  return Math.round(total);
}

/** What `wisp up` was given on its command line (all optional). */
export interface UpFlags {
  file?: string[];
  stateDir?: string;
  host?: string;
  apiHost?: string;
  apiTlsCert?: string;
  apiTlsKey?: string;
  ingressPort?: string;
  brokerPort?: string;
  apiPort?: string;
  brokerClass?: string;
  logLevel?: string;
  runtime?: string;
  kubeconfig?: string;
  context?: string;
  namespaceScope?: string;
  leaderElect?: boolean;
  leaderElectNamespace?: string;
  component?: string;
  autoscalerPort?: string;
  autoscalerUrl?: string;
  serveEngine?: string;
  dataPlaneProcesses?: string;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function port(flag: string | undefined, flagName: string, env: string | undefined, envName: string, dflt: number): number {
  if (flag !== undefined) return parsePort(flag, flagName);
  const fromEnv = nonEmpty(env);
  if (fromEnv !== undefined) return parsePort(fromEnv, envName);
  return dflt;
}

/** Flags override the environment, the environment overrides the defaults. Throws UsageError naming the bad flag or variable. */
export function resolveUpOptions(flags: UpFlags, env: NodeJS.ProcessEnv): PlatformOptions {
  const brokerClassRaw = flags.brokerClass ?? nonEmpty(env.WISP_BROKER_CLASS);
  let brokerClass = CLI_DEFAULTS.brokerClass;
  if (brokerClassRaw !== undefined) {
    const found = BROKER_CLASSES.find((c) => c.toLowerCase() === brokerClassRaw.toLowerCase());
    if (!found) {
      const what = flags.brokerClass !== undefined ? '--broker-class' : 'WISP_BROKER_CLASS';
      throw new UsageError(`wisp: invalid value '${brokerClassRaw}' for ${what}: expected one of ${BROKER_CLASSES.join(', ')}`);
    }
    brokerClass = found;
  }

  const logLevelRaw = flags.logLevel ?? nonEmpty(env.WISP_LOG_LEVEL);
  let logLevel: LogLevel | undefined;
  if (logLevelRaw !== undefined) {
    logLevel = LOG_LEVELS.find((l) => l === logLevelRaw.toLowerCase());
    if (!logLevel) {
      const what = flags.logLevel !== undefined ? '--log-level' : 'WISP_LOG_LEVEL';
      throw new UsageError(`wisp: invalid value '${logLevelRaw}' for ${what}: expected one of ${LOG_LEVELS.join(', ')}`);
    }
  }

  const formatRaw = nonEmpty(env.WISP_LOG_FORMAT);
  if (formatRaw !== undefined && formatRaw !== 'text' && formatRaw !== 'json') {
    throw new UsageError(`wisp: invalid value '${formatRaw}' for WISP_LOG_FORMAT: expected text or json`);
  }

  const tickRaw = nonEmpty(env.WISP_AUTOSCALER_TICK_MS);
  let autoscalerTickMs: number | undefined;
  if (tickRaw !== undefined) {
    autoscalerTickMs = /^\d+$/.test(tickRaw.trim()) ? Number(tickRaw.trim()) : NaN;
    if (!Number.isInteger(autoscalerTickMs) || autoscalerTickMs <= 0) {
      throw new UsageError(`wisp: invalid value '${tickRaw}' for WISP_AUTOSCALER_TICK_MS: expected a positive integer number of milliseconds`);
    }
  }

  const options: PlatformOptions = {
    stateDir: flags.stateDir ?? nonEmpty(env.WISP_STATE_DIR) ?? CLI_DEFAULTS.stateDir,
    host: flags.host ?? nonEmpty(env.WISP_HOST) ?? CLI_DEFAULTS.host,
    // The control API has its own bind: `--host 0.0.0.0` opens the ingresses, never the API by accident.
    apiHost: flags.apiHost ?? nonEmpty(env.WISP_API_HOST) ?? CLI_DEFAULTS.apiHost,
    ingressPort: port(flags.ingressPort, '--ingress-port', env.WISP_INGRESS_PORT, 'WISP_INGRESS_PORT', CLI_DEFAULTS.ingressPort),
    brokerPort: port(flags.brokerPort, '--broker-port', env.WISP_BROKER_PORT, 'WISP_BROKER_PORT', CLI_DEFAULTS.brokerPort),
    apiPort: port(flags.apiPort, '--api-port', env.WISP_API_PORT, 'WISP_API_PORT', CLI_DEFAULTS.apiPort),
    brokerClass,
    manifests: [...(flags.file ?? [])],
  };
  const apiToken = nonEmpty(env.WISP_API_TOKEN)?.trim();
  if (apiToken !== undefined) {
    if (!TOKEN_PATTERN.test(apiToken)) throw new UsageError('wisp: invalid WISP_API_TOKEN: a bearer token is 16 to 4096 visible ASCII characters without spaces (e.g. openssl rand -hex 32)');
    options.apiToken = apiToken;
  }
  const apiTls = resolveApiTls(flags, env);
  if (apiTls !== undefined) options.apiTls = apiTls;
  if (autoscalerTickMs !== undefined) options.autoscalerTickMs = autoscalerTickMs;
  if (logLevel !== undefined) options.logLevel = logLevel;
  if (formatRaw !== undefined) options.logFormat = formatRaw;
  const redisUrl = nonEmpty(env.WISP_REDIS_URL);
  if (redisUrl !== undefined) {
    if (!/^rediss?:\/\//.test(redisUrl)) throw new UsageError(`wisp: invalid value '${redisUrl}' for WISP_REDIS_URL: expected redis://host:port`);
    options.redisUrl = redisUrl;
  }
  const redisPrefix = nonEmpty(env.WISP_REDIS_PREFIX);
  if (redisPrefix !== undefined) options.redisPrefix = redisPrefix;
  const kafka = nonEmpty(env.WISP_KAFKA_BROKERS);
  if (kafka !== undefined) options.kafkaBrokers = kafka.split(',').map((b) => b.trim()).filter((b) => b !== '');
  const runtimeRaw = flags.runtime ?? nonEmpty(env.WISP_RUNTIME);
  if (runtimeRaw !== undefined) {
    const found = RUNTIME_MODES.find((m) => m === runtimeRaw.toLowerCase());
    if (!found) {
      const what = flags.runtime !== undefined ? '--runtime' : 'WISP_RUNTIME';
      throw new UsageError(`wisp: invalid value '${runtimeRaw}' for ${what}: expected one of ${RUNTIME_MODES.join(', ')}`);
    }
    options.runtime = found;
  }
  const kubeconfig = flags.kubeconfig ?? nonEmpty(env.WISP_KUBECONFIG);
  const kube = {
    ...(kubeconfig !== undefined && { kubeconfig }),
    ...(flags.context !== undefined && { context: flags.context }),
    ...(flags.namespaceScope !== undefined && { namespace: flags.namespaceScope }),
  };
  if (Object.keys(kube).length > 0) {
    if (options.runtime !== 'kubernetes') {
      const given = [kubeconfig !== undefined && (flags.kubeconfig !== undefined ? '--kubeconfig' : 'WISP_KUBECONFIG'), flags.context !== undefined && '--context', flags.namespaceScope !== undefined && '--namespace-scope'].filter(Boolean);
      throw new UsageError(`wisp: ${given.join(', ')} only apply with --runtime kubernetes (or WISP_RUNTIME=kubernetes)`);
    }
    options.kubernetes = kube;
  }
  const publicUrls = {
    ...optionalBaseUrl(env.WISP_ACTIVATOR_URL, 'WISP_ACTIVATOR_URL', 'activator'),
    ...optionalBaseUrl(env.WISP_BROKER_INGRESS_URL, 'WISP_BROKER_INGRESS_URL', 'brokerIngress'),
  };
  if (Object.keys(publicUrls).length > 0) options.publicUrls = publicUrls;
  resolveComponent(flags, env, options);
  resolveServeEngine(flags, env, options);
  const backlogRaw = nonEmpty(env.WISP_BROKER_MAX_BACKLOG);
  if (backlogRaw !== undefined) {
    const n = /^\d+$/.test(backlogRaw.trim()) ? Number(backlogRaw.trim()) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 100_000_000) {
      throw new UsageError(`wisp: invalid value '${backlogRaw}' for WISP_BROKER_MAX_BACKLOG: expected an integer from 1 to 100000000 (events waiting per Trigger)`);
    }
    options.brokerMaxBacklog = n;
  }
  resolveDataPlaneProcesses(flags, env, options);
  if (options.serveEngine !== undefined && (options.dataPlaneProcesses ?? 1) > 1) {
    throw new UsageError(`wisp: --serve-engine haproxy and --data-plane-processes ${options.dataPlaneProcesses} do not combine yet (haproxy fronts one activator): use one of them`);
  }
  return Object.freeze(options);
}

/** Most worker processes `--data-plane-processes` takes: more than the cores of any machine Wisp embedded targets. */
export const MAX_DATA_PLANE_PROCESSES = 64;

/**
 * `--data-plane-processes` (env WISP_DATA_PLANE_PROCESSES): how many processes run the activator and the broker data
 * plane (src/platform/workers.ts). 1 (default) keeps today's single process; more is embedded mode, all in one process.
 */
function resolveDataPlaneProcesses(flags: UpFlags, env: NodeJS.ProcessEnv, options: PlatformOptions): void {
  const raw = flags.dataPlaneProcesses ?? nonEmpty(env.WISP_DATA_PLANE_PROCESSES);
  if (raw === undefined) return;
  const what = flags.dataPlaneProcesses !== undefined ? '--data-plane-processes' : 'WISP_DATA_PLANE_PROCESSES';
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_DATA_PLANE_PROCESSES) {
    throw new UsageError(`wisp: invalid value '${raw}' for ${what}: expected an integer from 1 to ${MAX_DATA_PLANE_PROCESSES} (processes running the activator and the broker ingress and dispatch)`);
  }
  if (n > 1 && options.runtime === 'kubernetes') {
    throw new UsageError(`wisp: ${what} ${n} only applies to the embedded runtime: on Kubernetes scale the activator and broker Deployments instead (--component activator|broker)`);
  }
  if (n > 1) options.dataPlaneProcesses = n;
}

/**
 * `--serve-engine` (env WISP_SERVE_ENGINE): `none` (default) or `haproxy`, embedded mode and component `all` only;
 * WISP_HAPROXY (the binary) and WISP_HAPROXY_THREADS (nbthread, default 1) go with it.
 */
function resolveServeEngine(flags: UpFlags, env: NodeJS.ProcessEnv, options: PlatformOptions): void {
  const raw = flags.serveEngine ?? nonEmpty(env.WISP_SERVE_ENGINE);
  const what = flags.serveEngine !== undefined ? '--serve-engine' : 'WISP_SERVE_ENGINE';
  const kind = raw === undefined ? 'none' : SERVE_ENGINES.find((e) => e === raw.trim().toLowerCase());
  if (kind === undefined) throw new UsageError(`wisp: invalid value '${raw}' for ${what}: expected one of ${SERVE_ENGINES.join(', ')}`);
  const binary = nonEmpty(env.WISP_HAPROXY);
  const threadsRaw = nonEmpty(env.WISP_HAPROXY_THREADS);
  if (kind === 'none') {
    if (binary !== undefined || threadsRaw !== undefined) {
      throw new UsageError(`wisp: ${binary !== undefined ? 'WISP_HAPROXY' : 'WISP_HAPROXY_THREADS'} only applies with --serve-engine haproxy (or WISP_SERVE_ENGINE=haproxy)`);
    }
    return;
  }
  if ((options.runtime ?? 'embedded') !== 'embedded') {
    throw new UsageError(`wisp: ${what} haproxy runs only in embedded mode: with --runtime kubernetes the activator Deployment is the ingress`);
  }
  if ((options.component ?? 'all') !== 'all') {
    throw new UsageError(`wisp: ${what} haproxy runs only with --component all (the one process owning the ingress port and the routing table), not --component ${options.component}`);
  }
  let threads: number | undefined;
  if (threadsRaw !== undefined) {
    threads = /^\d+$/.test(threadsRaw.trim()) ? Number(threadsRaw.trim()) : NaN;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new UsageError(`wisp: invalid value '${threadsRaw}' for WISP_HAPROXY_THREADS: expected an integer from 1 to 64 (haproxy's nbthread)`);
  }
  options.serveEngine = { engine: 'haproxy', ...(binary !== undefined && { binary }), ...(threads !== undefined && { threads }) };
}

/**
 * `--component` (env WISP_COMPONENT) and what goes with it: `--autoscaler-port` (the controller's stats endpoint) and
 * `--autoscaler-url` (where an activator sends its stats). A component other than `all` is Kubernetes mode only: the
 * split processes find each other's state through the API server.
 */
function resolveComponent(flags: UpFlags, env: NodeJS.ProcessEnv, options: PlatformOptions): void {
  const raw = flags.component ?? nonEmpty(env.WISP_COMPONENT);
  const what = flags.component !== undefined ? '--component' : 'WISP_COMPONENT';
  let component: (typeof COMPONENTS)[number] = 'all';
  if (raw !== undefined) {
    const found = COMPONENTS.find((c) => c === raw.trim().toLowerCase());
    if (!found) throw new UsageError(`wisp: invalid value '${raw}' for ${what}: expected one of ${COMPONENTS.join(', ')}`);
    component = found;
  }
  if (component !== 'all' && options.runtime !== 'kubernetes') {
    throw new UsageError(`wisp: ${what} ${component} only applies with --runtime kubernetes (or WISP_RUNTIME=kubernetes): the components share their state through the cluster's API server`);
  }
  const portRaw = flags.autoscalerPort ?? nonEmpty(env.WISP_AUTOSCALER_PORT);
  const urlRaw = flags.autoscalerUrl ?? nonEmpty(env.WISP_AUTOSCALER_URL);
  const portWhat = flags.autoscalerPort !== undefined ? '--autoscaler-port' : 'WISP_AUTOSCALER_PORT';
  const urlWhat = flags.autoscalerUrl !== undefined ? '--autoscaler-url' : 'WISP_AUTOSCALER_URL';
  if (portRaw !== undefined && component !== 'controller') throw new UsageError(`wisp: ${portWhat} only applies with --component controller (the process that runs the autoscaler)`);
  if (urlRaw !== undefined && component !== 'activator') throw new UsageError(`wisp: ${urlWhat} only applies with --component activator (the process that reports to the autoscaler)`);
  if ((component === 'activator' || component === 'broker') && options.manifests.length > 0) {
    throw new UsageError(`wisp: -f applies manifests through the controller; ${what} ${component} reads what the controller serves (run -f with --component controller, or kubectl apply)`);
  }
  if (component !== 'all') options.component = component;
  if (component === 'controller') options.autoscalerPort = portRaw !== undefined ? parsePort(portRaw, portWhat) : DEFAULT_AUTOSCALER_PORT;
  if (urlRaw !== undefined) {
    const parsed = optionalBaseUrl(urlRaw, urlWhat, 'url');
    if (parsed.url !== undefined) options.autoscalerUrl = parsed.url;
  }
}

/** `--api-tls-cert`/`--api-tls-key` (env WISP_API_TLS_CERT/WISP_API_TLS_KEY): both or neither. */
function resolveApiTls(flags: UpFlags, env: NodeJS.ProcessEnv): PlatformOptions['apiTls'] {
  const certFile = flags.apiTlsCert ?? nonEmpty(env.WISP_API_TLS_CERT);
  const keyFile = flags.apiTlsKey ?? nonEmpty(env.WISP_API_TLS_KEY);
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) throw new UsageError('wisp: --api-tls-key (or WISP_API_TLS_KEY) needs --api-tls-cert (or WISP_API_TLS_CERT): give both, PEM files');
  if (keyFile === undefined) throw new UsageError('wisp: --api-tls-cert (or WISP_API_TLS_CERT) needs --api-tls-key (or WISP_API_TLS_KEY): give both, PEM files');
  return { certFile, keyFile };
}

/** A positive number of seconds (`1.5` allowed unless `whole`), as milliseconds; `what` names the variable. */
function seconds(value: string, what: string, whole: boolean): number {
  const trimmed = value.trim();
  const n = (whole ? /^\d+$/ : /^\d+(\.\d+)?$/).test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(`wisp: invalid value '${value}' for ${what}: expected a positive ${whole ? 'whole ' : ''}number of seconds`);
  }
  return Math.round(n * 1000);
}

/**
 * Leader election of `wisp up` (`--leader-elect`, env WISP_LEADER_ELECT=true): Kubernetes mode only. The Lease is
 * `<--leader-elect-namespace or WISP_LEADER_ELECT_NAMESPACE, default wisp-system>/wisp-controller`; its timings
 * default to client-go's 15 s / 10 s / 2 s, and WISP_LEADER_LEASE_SECONDS alone scales the other two with it
 * (WISP_LEADER_RENEW_DEADLINE_SECONDS and WISP_LEADER_RETRY_PERIOD_SECONDS set them). Undefined: no leader election.
 */
export function resolveLeaderElection(flags: UpFlags, env: NodeJS.ProcessEnv, options: PlatformOptions): LeaderElectionOptions | undefined {
  const envRaw = nonEmpty(env.WISP_LEADER_ELECT);
  let fromEnv = false;
  if (envRaw !== undefined) {
    const v = envRaw.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') throw new UsageError(`wisp: invalid value '${envRaw}' for WISP_LEADER_ELECT: expected true or false`);
    fromEnv = v === 'true';
  }
  const enabled = flags.leaderElect === true || fromEnv;
  const namespace = flags.leaderElectNamespace ?? nonEmpty(env.WISP_LEADER_ELECT_NAMESPACE);
  const tuning = (['WISP_LEADER_LEASE_SECONDS', 'WISP_LEADER_RENEW_DEADLINE_SECONDS', 'WISP_LEADER_RETRY_PERIOD_SECONDS'] as const).filter((n) => nonEmpty(env[n]) !== undefined);
  if (!enabled) {
    const given = [flags.leaderElectNamespace !== undefined && '--leader-elect-namespace'].filter(Boolean);
    if (given.length > 0) throw new UsageError(`wisp: ${given.join(', ')} only applies with --leader-elect (or WISP_LEADER_ELECT=true)`);
    return undefined;
  }
  if (options.component === 'activator' || options.component === 'broker') {
    const what = flags.leaderElect === true ? '--leader-elect' : 'WISP_LEADER_ELECT=true';
    throw new UsageError(`wisp: ${what} only applies to the controller: every ${options.component} replica serves traffic (run it without ${what})`);
  }
  if (options.runtime !== 'kubernetes') {
    const what = flags.leaderElect === true ? '--leader-elect' : 'WISP_LEADER_ELECT=true';
    throw new UsageError(`wisp: ${what} only applies with --runtime kubernetes (or WISP_RUNTIME=kubernetes): it elects through a Lease on the cluster`);
  }
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    const what = flags.leaderElectNamespace !== undefined ? '--leader-elect-namespace' : 'WISP_LEADER_ELECT_NAMESPACE';
    throw new UsageError(`wisp: invalid value '${namespace}' for ${what}: expected a namespace name (lowercase letters, digits and '-')`);
  }
  const leaseRaw = nonEmpty(env.WISP_LEADER_LEASE_SECONDS);
  const renewRaw = nonEmpty(env.WISP_LEADER_RENEW_DEADLINE_SECONDS);
  const retryRaw = nonEmpty(env.WISP_LEADER_RETRY_PERIOD_SECONDS);
  const base: LeaseTimings = leaseRaw !== undefined ? scaledTimings(seconds(leaseRaw, 'WISP_LEADER_LEASE_SECONDS', true)) : { ...LEADER_ELECTION_DEFAULTS };
  const timings: LeaseTimings = {
    leaseDurationMs: base.leaseDurationMs,
    renewDeadlineMs: renewRaw !== undefined ? seconds(renewRaw, 'WISP_LEADER_RENEW_DEADLINE_SECONDS', false) : base.renewDeadlineMs,
    retryPeriodMs: retryRaw !== undefined ? seconds(retryRaw, 'WISP_LEADER_RETRY_PERIOD_SECONDS', false) : base.retryPeriodMs,
  };
  const problem = leaseTimingsProblem(timings);
  if (problem !== undefined) throw new UsageError(`wisp: invalid leader election timings (${tuning.join(', ') || 'defaults'}): ${problem}`);
  return Object.freeze({ namespace: namespace ?? LEADER_ELECTION_DEFAULTS.namespace, name: LEADER_ELECTION_DEFAULTS.name, ...timings });
}

/** An http(s) base URL (no query or fragment; a trailing slash dropped) from env `name`, as `{ [key]: url }`. */
function optionalBaseUrl<K extends string>(raw: string | undefined, name: string, key: K): Partial<Record<K, string>> {
  const value = nonEmpty(raw);
  if (value === undefined) return {};
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`wisp: invalid value '${value}' for ${name}: expected an http or https URL, e.g. http://wisp-activator.wisp-system.svc.cluster.local`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new UsageError(`wisp: invalid value '${value}' for ${name}: expected an http or https base URL without query or fragment`);
  }
  return { [key]: value.replace(/\/+$/, '') } as Partial<Record<K, string>>;
}
