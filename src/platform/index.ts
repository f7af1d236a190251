import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { Activator } from '../../activator/index.js';
import { HttpSender } from '../../broker/delivery/index.js';
import { Autoscaler, DEFAULT_AUTOSCALER_CONFIG, buildStatsServer, parseAutoscalerConfigMap } from '../../autoscaler/index.js';
import { kindByName } from '../api/kinds.js';
import { ApiServerSourcesReconciler } from '../importers/apiserver/reconciler.js';
import { ContainerSourcesReconciler } from '../importers/container/reconciler.js';
import { KafkaSourcesReconciler } from '../importers/kafka/reconciler.js';
import { SinkBindingsReconciler } from '../importers/binding/reconciler.js';
import { sinkBindingEnvSource } from '../importers/binding/injector.js';
import { ImportersReconciler } from '../importers/reconciler.js';
import { SourceMetrics } from '../importers/metrics.js';
import { loadManifests } from '../api/load.js';
import { ServingReconciler, type RoutingSink } from '../control/serving/reconciler.js';
import { watchServingDefaults } from '../control/serving/defaults-source.js';
import type { ResourceReader } from '../control/resource-store.js';
import type { Store } from '../control/store.js';
import type { TriggerDispatcher } from '../control/eventing/reconciler.js';
import { LocalRuntime } from '../runtime/local/runtime.js';
import type { Clock } from '../clock.js';
import { type Logger } from './logger.js';
import { publicBaseUrls } from './addresses.js';
import { openSeams, type Seams } from './seams.js';
import { eventingSettings, startEventing } from './eventing.js';
import { applyAll } from './apply.js';
import { ComponentAddressError } from './errors.js';
import { PlatformMetrics } from './metrics.js';
import { beginProcess, listenControlApi, portOf, portOfUrl, urlHost } from './process.js';
import { DEFAULT_AUTOSCALER_PORT, type Platform, type PlatformOptions } from './types.js';
import { assertServeEngineFits, prepareServeEngine } from './serve.js';
import { STARTUP_GC_DELAY_MS, releaseStartupMemory } from './startup-memory.js';
import type { DataPlaneWorkers } from './workers.js';

export type { Platform, PlatformOptions, ApplyOutcome, BrokerClass, Component, StartPlatform } from './types.js';

const CONFIGMAPS = kindByName('configmaps')!;

/**
 * The composition root of `wisp up`: one process with the store, the control API, the serving
 * reconciler, the local runtime, the autoscaler, the activator, and eventing (broker ingress, in-memory
 * backend, dispatcher, eventing reconciler) and importers (PingSource, ApiServerSource, ContainerSource, SinkBinding, KafkaSource), wired through narrow
 * interfaces.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const component = options.component ?? 'all';
  assertServeEngineFits(options);
  if (component === 'activator' || component === 'broker') {
    const { startDataPlane } = await import('./components.js');
    return startDataPlane(component, options);
  }
  const { clock, log, stateDir, closers, closeAll, apiToken, apiTls, registry } = await beginProcess(options);
  const controllerOnly = component === 'controller';

  try {
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
    // --serve-engine haproxy (serve.ts): it gates the autoscaler's scale-downs and takes its decisions.
    const serve = await prepareServeEngine(options, { stateDir, clock, log });
    const autoscaler = new Autoscaler({
      clock,
      scaler: serve?.gate(runtime) ?? runtime,
      config: autoscalerConfigFrom(store, log),
      ...(options.autoscalerTickMs !== undefined ? { tickMs: options.autoscalerTickMs } : {}),
      onDecision: serve === undefined ? (key, d) => metrics.decision(key, d) : (key, d) => (metrics.decision(key, d), serve.decision(key, d)),
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

    // The activator in this process, or (the controller of a split install) in the activator component: then the
    // autoscaler takes its stats over the network, and the routing table is built there from what this one writes.
    let routing: RoutingSink;
    /** The port in Services' `status.url` (the activator's as clients reach it); the local listener's is `listenPort`. */
    let ingressPort: number;
    let listenPort = 0;
    let autoscalerUrl: string | undefined;
    let dataPlane: (DataPlaneWorkers & { brokerUrl: string }) | undefined;
    const addressBase = publicUrls.activator;
    if (controllerOnly) {
      if (publicUrls.activator === undefined || publicUrls.brokerIngress === undefined) {
        throw new ComponentAddressError();
      }
      routing = { setRouting: () => undefined, upsertRevision: () => undefined, removeRevision: () => undefined };
      ingressPort = portOfUrl(publicUrls.activator);
      const stats = buildStatsServer({ sink: autoscaler, clock });
      await stats.listen({ port: options.autoscalerPort ?? DEFAULT_AUTOSCALER_PORT, host: options.host });
      closers.push(() => stats.close());
      autoscalerUrl = `http://${urlHost(options.host)}:${portOf(stats.server.address())}`;
    } else if ((options.dataPlaneProcesses ?? 1) > 1) {
      // The activator and the broker data plane in N worker processes on the same ports (workers.ts).
      const { startDataPlaneWorkers } = await import('./data-plane.js');
      dataPlane = await startDataPlaneWorkers(options, { seams, clock, log, autoscaler, registry, ...(publicUrls.brokerIngress !== undefined && { brokerUrlBase: publicUrls.brokerIngress }) });
      closers.push(() => dataPlane!.close());
      routing = dataPlane;
      listenPort = ingressPort = dataPlane.ports.ingress;
    } else {
      // With the serve engine haproxy is the activator's only client (on an internal port): no per-client cap then.
      const activator = new Activator({ clock, reporter: autoscaler, registry, logger: log, ...(serve && { connectionLimits: serve.activatorLimits }) });
      const listening = await activator.listen(serve ? { port: 0, host: '127.0.0.1' } : { port: options.ingressPort, host: options.host });
      closers.push(() => activator.close());
      routing = activator;
      listenPort = listening.port;
      if (serve) {
        await serve.start({ activator, ingressHost: options.host, ingressPort: options.ingressPort, activatorPort: listening.port, autoscaler });
        // Closed before the activator (closers run in reverse): haproxy stops taking requests, finishes those in flight.
        closers.push(() => serve.close());
        routing = serve;
        listenPort = serve.port;
      }
      // In the cluster the activator is reached through its Service, on port 80: that is the port of Services' URLs.
      ingressPort = seams.mode === 'kubernetes' && seams.inClusterNamespace !== undefined && publicUrls.activator !== undefined ? portOfUrl(publicUrls.activator) : listenPort;
    }
    const ingress = { port: ingressPort };

    const reconciler = new ServingReconciler({
      store,
      runtime,
      autoscaler,
      activator: routing,
      clock,
      ingressPort: ingress.port,
      ingressHost: options.host,
      ...(addressBase !== undefined && { addressBase }),
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

    const events = await startEventingAndImporters(seams, { stateDir, clock, registry, options, log, closers, brokerUrlBase: publicUrls.brokerIngress ?? dataPlane?.brokerUrl, role: controllerOnly || dataPlane ? 'control' : 'all', ...(dataPlane && { controlDispatcher: dataPlane }) });

    let ready = false;
    const { apiUrl } = await listenControlApi(options, {
      store,
      registry,
      logs: runtime,
      ...(events.containerRuntime && { sourceLogs: events.containerRuntime }),
      ready: () => ready,
      token: apiToken.token,
      closers,
      mode: seams.mode,
      ...(apiTls && { tls: apiTls }),
    });

    const lateSources = await startApiAndKafkaSources(seams, { clock, apiUrl, sender: events.sourceSender, sourceMetrics: events.sourceMetrics, log, closers });

    const loaded = options.manifests.length > 0 ? await loadManifests(options.manifests) : { objects: [] };
    const applied = await applyAll(store, loaded.objects, { mode: seams.mode });
    await reconciler.idle();
    await events.idle();
    await lateSources.idle();
    await reconciler.idle();
    ready = true;
    // Start-up's young generation and garbage given back once it has settled (startup-memory.ts: why and cost).
    const startupGc = clock.setTimeout(() => {
      try {
        const r = releaseStartupMemory();
        log.debug(`memory: start-up garbage collected, heap used ${mb(r.heapUsedBefore)} → ${mb(r.heapUsedAfter)} MB in ${r.pauseMs.toFixed(0)} ms`);
      } catch (err) {
        log.debug(`memory: start-up GC not run: ${err instanceof Error ? err.message : String(err)}`);
      }
    }, STARTUP_GC_DELAY_MS);
    closers.push(() => startupGc.cancel());

    let closing: Promise<void> | undefined;
    return {
      urls: controllerOnly
        ? { ingress: publicUrls.activator!, broker: publicUrls.brokerIngress!, api: apiUrl, ...(autoscalerUrl !== undefined && { autoscaler: autoscalerUrl }) }
        : { ingress: `http://${options.host}:${listenPort}`, broker: `http://${options.host}:${dataPlane?.ports.broker ?? events.port}`, api: apiUrl },
      component,
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
  /** `control`: the controller of a split install (no ingress, no consumers: the broker component runs them). */
  role: 'all' | 'control';
  /** The data-plane workers (`--data-plane-processes`): a Trigger is Ready once they all consume it. */
  controlDispatcher?: TriggerDispatcher;
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
    ...eventingSettings(options),
    log,
    role: ctx.role,
    ...(ctx.controlDispatcher && { controlDispatcher: ctx.controlDispatcher }),
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
  // Imported here, not at the top: it loads @kubernetes/client-node, which the embedded default does without.
  const kube =
    seams.mode === 'kubernetes'
      ? (await import('./kube-sources.js')).startKubeSources({ store, kubeConfig: seams.client.config, clock, log, closers, services: seams.services, ...(options.kubernetes?.namespace !== undefined && { namespace: options.kubernetes.namespace }) })
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
async function startApiAndKafkaSources(
  seams: Seams,
  ctx: { clock: Clock; apiUrl: string; sender: HttpSender; sourceMetrics: SourceMetrics; log: Logger; closers: (() => Promise<void> | void)[] },
) {
  const { clock, apiUrl, log, closers, sourceMetrics } = ctx;
  const { store } = seams;
  const sourceSender = ctx.sender;
  // Kubernetes mode only (a module of its own: it loads @kubernetes/client-node).
  const cluster =
    seams.mode === 'kubernetes'
      ? (await import('../importers/apiserver/kube-cluster.js')).kubeApiServerCluster(seams.client, clock, (key, p) => log.warn(`apiserversource ${key}: ${p.reason}: ${p.message}`))
      : undefined;
  const apiServerSources = new ApiServerSourcesReconciler({
    store,
    clock,
    sender: sourceSender,
    onOutcome: (key, outcome) => sourceMetrics.outcome('ApiServerSource', key, outcome.kind),
    onError: (what, err) => log.error(`${what}: ${err instanceof Error ? err.message : String(err)}`),
    ...(seams.mode === 'embedded'
      ? { sourceUri: apiUrl }
      : { sourceUri: seams.client.server, ...(cluster !== undefined && { cluster }) }),
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

const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
