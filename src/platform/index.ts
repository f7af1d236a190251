import { mkdir, readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { join, resolve } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Activator } from '../../activator/index.js';
import { HttpSender } from '../../broker/delivery/index.js';
import { Autoscaler, DEFAULT_AUTOSCALER_CONFIG, parseAutoscalerConfigMap } from '../../autoscaler/index.js';
import { kindByName } from '../api/kinds.js';
import { ApiServerSourcesReconciler, kubeApiServerAccess } from '../importers/apiserver/index.js';
import { ContainerSourcesReconciler } from '../importers/container/index.js';
import { KafkaSourcesReconciler } from '../importers/kafka/index.js';
import { SinkBindingsReconciler, sinkBindingEnvSource } from '../importers/binding/index.js';
import { ImportersReconciler } from '../importers/index.js';
import { SourceMetrics } from '../importers/metrics.js';
import { loadManifests } from '../api/load.js';
import { systemClock } from '../clock.js';
import { buildApiServer } from '../control/api-server.js';
import { isLoopbackBindAddress } from '../control/auth.js';
import { ensureToken } from '../control/token.js';
import { ServingReconciler } from '../control/serving/reconciler.js';
import { watchServingDefaults } from '../control/serving/defaults-source.js';
import type { ResourceReader } from '../control/resource-store.js';
import type { Store } from '../control/store.js';
import { LocalRuntime } from '../runtime/index.js';
import type { Clock } from '../clock.js';
import { type Logger } from './logger.js';
import { publicBaseUrls } from './addresses.js';
import { startKubeSources } from './kube-sources.js';
import { openSeams, type Seams } from './seams.js';
import { startEventing } from './eventing.js';
import { createLogger } from './logger.js';
import { acquireStateLock } from './state-lock.js';
import { applyAll } from './apply.js';
import { PlatformMetrics } from './metrics.js';
import type { Platform, PlatformOptions } from './types.js';

export type { Platform, PlatformOptions, ApplyOutcome, BrokerClass, StartPlatform } from './types.js';

const CONFIGMAPS = kindByName('configmaps')!;

/**
 * The composition root of `wisp up`: one process with the store, the control API, the serving
 * reconciler, the local runtime, the autoscaler, the activator, and eventing (broker ingress, in-memory
 * backend, dispatcher, eventing reconciler) and importers (PingSource, ApiServerSource, ContainerSource, SinkBinding, KafkaSource), wired through narrow
 * interfaces.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const clock = systemClock;
  const log = createLogger({ level: options.logLevel ?? 'info', format: options.logFormat ?? 'text' });
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true });
  // One wisp up per state dir, taken before anything else is touched (orphan reaping, ports); released last.
  const lock = await acquireStateLock({ dir: stateDir, shownAs: options.stateDir });

  const closers: (() => Promise<void> | void)[] = [() => lock.release()];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn(`shutdown: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  try {
    // The control API's credentials first: a token file open to others, or a TLS pair that cannot be used, stops start-up
    // before any replica runs.
    const apiToken = await ensureToken(stateDir);
    const apiTls = options.apiTls ? await readTlsPair(options.apiTls) : undefined;

    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'wisp_process_' });

    // The two seams (store, runtime): embedded or the Kubernetes API, picked in seams.ts and nowhere else.
    const seams = await openSeams(options, { clock, log, stateDir });
    const { store, runtime } = seams;
    closers.push(() => store.close());
    closers.push(() => runtime.close());
    if (seams.mode === 'kubernetes') closers.push(() => seams.services.close());
    log.info(`runtime: ${seams.describe}`);

    // What workloads and producers connect to: the local listeners, or in the cluster Wisp's Services (addresses.ts).
    const publicUrls = publicBaseUrls({
      ...(options.publicUrls && { given: options.publicUrls }),
      ...(seams.mode === 'kubernetes' && seams.inClusterNamespace !== undefined && { inClusterNamespace: seams.inClusterNamespace }),
    });
    const metrics = new PlatformMetrics(registry);
    const autoscaler = new Autoscaler({
      clock,
      scaler: runtime,
      config: autoscalerConfigFrom(store, log),
      ...(options.autoscalerTickMs !== undefined ? { tickMs: options.autoscalerTickMs } : {}),
      onDecision: (key, d) => metrics.decision(key, d),
    });
    closers.push(() => autoscaler.close());

    // config-autoscaler applied like any resource: re-merge every revision's settings.
    const stopConfigWatch = store.watch((ev) => {
      if (ev.kind.plural !== CONFIGMAPS.plural || ev.object.metadata.namespace !== 'knative-serving' || ev.object.metadata.name !== 'config-autoscaler') return;
      autoscaler.setConfig(ev.type === 'DELETED' ? DEFAULT_AUTOSCALER_CONFIG : autoscalerConfigFrom(store, log));
    });
    closers.push(stopConfigWatch);
    // config-defaults, read and watched: the serving reconciler defaults the Revisions it cuts with it.
    const servingDefaults = watchServingDefaults({ store, log });
    closers.push(() => servingDefaults.close());

    const activator = new Activator({ clock, reporter: autoscaler, registry, logger: log });
    const ingress = await activator.listen({ port: options.ingressPort, host: options.host });
    closers.push(() => activator.close());

    const reconciler = new ServingReconciler({
      store,
      runtime,
      autoscaler,
      activator,
      clock,
      ingressPort: ingress.port,
      ingressHost: options.host,
      ...(publicUrls.activator !== undefined && { addressBase: publicUrls.activator }),
      defaultBaseDir: process.cwd(),
      // SinkBindings' resolved sinks, as K_SINK and K_CE_OVERRIDES in their subject Services' revisions (both modes).
      boundEnv: sinkBindingEnvSource(store),
      defaults: servingDefaults.current,
      onError: (what, err) => log.error(`${what}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    });
    reconciler.start();
    closers.push(() => reconciler.stop());
    const stopReplicaMetrics = runtime.onChange((key, status) => metrics.replicas(key, status));
    closers.push(stopReplicaMetrics);

    const events = await startEventingAndImporters(seams, { stateDir, clock, registry, options, log, closers, brokerUrlBase: publicUrls.brokerIngress });

    let ready = false;
    const api = buildApiServer({
      store,
      registry,
      logs: runtime,
      ...(events.containerRuntime && { sourceLogs: events.containerRuntime }),
      ready: () => ready,
      token: apiToken.token,
      // Bound to loopback, any other Host is a browser tricked by DNS rebinding; bound wider, the token alone guards it.
      allowedHosts: isLoopbackBindAddress(options.apiHost) ? 'loopback' : 'any',
      mode: seams.mode,
      ...(apiTls && { tls: apiTls }),
    });
    // Fastify opens one server per address of `localhost` (127.0.0.1 and ::1), and only its main server carries the
    // connection guard: bind the name to 127.0.0.1, one guarded server.
    await api.listen({ port: options.apiPort, host: options.apiHost === 'localhost' ? '127.0.0.1' : options.apiHost });
    closers.push(() => api.close());
    const apiPort = portOf(api.server.address());
    const apiUrl = `${apiTls ? 'https' : 'http'}://${urlHost(options.apiHost)}:${apiPort}`;

    const lateSources = startApiAndKafkaSources(seams, { clock, apiUrl, sender: events.sourceSender, sourceMetrics: events.sourceMetrics, log, closers });

    const loaded = options.manifests.length > 0 ? await loadManifests(options.manifests) : { objects: [] };
    const applied = await applyAll(store, loaded.objects, { mode: seams.mode });
    await reconciler.idle();
    await events.idle();
    await lateSources.idle();
    await reconciler.idle();
    ready = true;

    let closing: Promise<void> | undefined;
    return {
      urls: {
        ingress: `http://${options.host}:${ingress.port}`,
        broker: `http://${options.host}:${events.port}`,
        api: apiUrl,
      },
      tokenFile: apiToken.file,
      runtime: seams.describe,
      applied,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

interface EventingContext {
  /** Base of Brokers' addresses; default the broker ingress's local URL. */
  brokerUrlBase: string | undefined;
  stateDir: string;
  clock: Clock;
  registry: Registry;
  options: PlatformOptions;
  log: Logger;
  closers: (() => Promise<void> | void)[];
}

/**
 * Eventing (broker ingress, backends, dispatcher, eventing reconciler) and the importers that run in Wisp's own
 * process (PingSource) in both modes, on the seams' store. ContainerSource and SinkBinding: local processes and
 * embedded Services (startLocalSources), or on Kubernetes Deployments, pod templates and Job admission policies
 * (startKubeSources in kube-sources.ts).
 */
async function startEventingAndImporters(seams: Seams, ctx: EventingContext) {
  const { stateDir, clock, registry, options, log, closers } = ctx;
  const { store } = seams;
  const brokerUrlBase = ctx.brokerUrlBase !== undefined ? { brokerUrlBase: ctx.brokerUrlBase } : {};
  const k8s = seams.mode === 'kubernetes' ? seams : undefined;
  // Outside the cluster a v1 Service's DNS name does not resolve: deliveries to one go to a ready endpoint of it.
  const senderOptions = k8s?.outOfCluster ? { route: (origin: string) => k8s.services.route(origin) } : {};
  const coreServices = k8s && { coreServices: k8s.services };
  // The dispatcher's sender, closed after eventing (its deliveries in flight) has closed.
  const deliverySender = new HttpSender(senderOptions);
  closers.push(() => deliverySender.close());
  const eventing = await startEventing({
    ...coreServices,
    ...brokerUrlBase,
    sender: deliverySender,
    store,
    clock,
    registry,
    host: options.host,
    port: options.brokerPort,
    defaultBrokerClass: options.brokerClass,
    redis: { url: options.redisUrl ?? 'redis://127.0.0.1:6379', prefix: options.redisPrefix ?? 'wisp' },
    kafkaBrokers: options.kafkaBrokers ?? [],
    maxBacklog: options.brokerMaxBacklog,
    log,
  });
  closers.push(() => eventing.close());

  // Importers (PingSource, ApiServerSource, KafkaSource) deliver to sinks over HTTP like the dispatcher, each
  // event counted by result in wisp_source_events_total; they stop before eventing does.
  const sourceSender = new HttpSender(senderOptions);
  const sourceMetrics = new SourceMetrics(registry);
  const importers = new ImportersReconciler({
    ...coreServices,
    store,
    clock,
    sender: sourceSender,
    onOutcome: (key, outcome) => sourceMetrics.outcome('PingSource', key, outcome.kind),
    onError: (what, err) => log.error(`${what}: ${err instanceof Error ? err.message : String(err)}`),
  });
  importers.start();
  closers.push(() => sourceSender.close());
  closers.push(() => importers.stop());

  const embedded = seams.mode === 'embedded' ? await startLocalSources(seams.store, { stateDir, clock, log, closers }) : undefined;
  // On Kubernetes a ContainerSource is a Deployment, a SinkBinding patches its Deployments and admits its Jobs.
  const kube =
    seams.mode === 'kubernetes'
      ? startKubeSources({ store, kubeConfig: seams.client.config, clock, log, closers, services: seams.services, ...(options.kubernetes?.namespace !== undefined && { namespace: options.kubernetes.namespace }) })
      : undefined;
  return {
    port: eventing.port,
    containerRuntime: embedded?.containerRuntime,
    sourceSender,
    sourceMetrics,
    idle: async (): Promise<void> => {
      await eventing.reconciler.idle();
      await importers.idle();
      await embedded?.idle();
      await kube?.idle();
    },
  };
}

/** ContainerSources as local processes and SinkBindings into embedded Services: the embedded store only. */
async function startLocalSources(store: Store, ctx: { stateDir: string; clock: Clock; log: Logger; closers: (() => Promise<void> | void)[] }) {
  const { stateDir, clock, log, closers } = ctx;

  // ContainerSources run as local processes on a runtime of their own (own state file for orphan reaping, no
  // Serving listeners); the reconciler stops them before that runtime closes, and both before eventing.
  const containerRuntime = await LocalRuntime.create({ clock, stateDir: join(stateDir, 'containersources'), host: '127.0.0.1', logger: log });
  closers.push(() => containerRuntime.close());
  const containerSources = new ContainerSourcesReconciler({
    store,
    clock,
    runtime: containerRuntime,
    defaultBaseDir: process.cwd(),
    onError: (what, err) => log.error(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    onLog: (key, stream, line) => log.info(`containersource ${key} ${stream}: ${line}`),
  });
  containerSources.start();
  closers.push(() => containerSources.stop());

  // SinkBindings resolve their sinks into their status, which the serving reconciler binds into revisions.
  const sinkBindings = new SinkBindingsReconciler({
    store,
    clock,
    onError: (what, err) => log.error(`${what}: ${err instanceof Error ? err.message : String(err)}`),
  });
  sinkBindings.start();
  closers.push(() => sinkBindings.stop());

  return {
    containerRuntime,
    idle: async (): Promise<void> => {
      await containerSources.idle();
      await sinkBindings.idle();
    },
  };
}

/**
 * KafkaSource (both modes: it consumes its own clusters) and ApiServerSource (embedded: Wisp's own resources, the
 * control API's URL as the events' source; Kubernetes: the cluster's, as each source's ServiceAccount, the API
 * server's URL as source).
 */
function startApiAndKafkaSources(
  seams: Seams,
  ctx: { clock: Clock; apiUrl: string; sender: HttpSender; sourceMetrics: SourceMetrics; log: Logger; closers: (() => Promise<void> | void)[] },
) {
  const { clock, apiUrl, log, closers, sourceMetrics } = ctx;
  const { store } = seams;
  const sourceSender = ctx.sender;
  const apiServerSources = new ApiServerSourcesReconciler({
    store,
    clock,
    sender: sourceSender,
    onOutcome: (key, outcome) => sourceMetrics.outcome('ApiServerSource', key, outcome.kind),
    onError: (what, err) => log.error(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    ...(seams.mode === 'embedded'
      ? { sourceUri: apiUrl }
      : {
          sourceUri: seams.client.server,
          cluster: {
            access: kubeApiServerAccess(seams.client, clock),
            onProblem: (key: string, p: { reason: string; message: string }) => log.warn(`apiserversource ${key}: ${p.reason}: ${p.message}`),
          },
        }),
  });
  apiServerSources.start();
  closers.push(() => apiServerSources.stop());

  // KafkaSources consume their own clusters (spec.bootstrapServers); closing commits what the sinks accepted.
  const kafkaSources = new KafkaSourcesReconciler({
    ...(seams.mode === 'kubernetes' && { coreServices: seams.services }),
    store,
    clock,
    sender: sourceSender,
    onOutcome: (key, outcome) => sourceMetrics.outcome('KafkaSource', key, outcome.kind),
    onError: (what, err) => log.error(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    debug: (m) => log.debug(m),
  });
  kafkaSources.start();
  closers.push(() => kafkaSources.stop());

  return {
    idle: async (): Promise<void> => {
      await apiServerSources.idle();
      await kafkaSources.idle();
    },
  };
}

function autoscalerConfigFrom(store: ResourceReader, log: { warn(m: string): void }): ReturnType<typeof parseAutoscalerConfigMap> {
  const cm = store.get(CONFIGMAPS, 'knative-serving', 'config-autoscaler');
  if (!cm?.data) return DEFAULT_AUTOSCALER_CONFIG;
  try {
    return parseAutoscalerConfigMap(cm.data);
  } catch (err) {
    // Validation refuses bad ConfigMaps at apply time; this only guards a hand-edited store.
    log.warn(`config-autoscaler ignored: ${err instanceof Error ? err.message : String(err)}`);
    return DEFAULT_AUTOSCALER_CONFIG;
  }
}

/** A bind address as the host of a URL a client can use: the wildcard becomes 127.0.0.1, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Reads and checks the control API's certificate and key (a key that does not match is refused here, in one line). */
async function readTlsPair(files: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new Error(`cannot read the control API's TLS ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const cert = await read(files.certFile, 'certificate (--api-tls-cert)');
  const key = await read(files.keyFile, 'key (--api-tls-key)');
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(
      `the control API's TLS certificate ${files.certFile} and key ${files.keyFile} cannot be used: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return { cert, key };
}

function portOf(addr: ReturnType<import('node:net').Server['address']>): number {
  return typeof addr === 'object' && addr ? addr.port : 0;
}
