import { createHash } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { RouteEntry, RoutingSnapshot, RevisionState } from '../../../activator/types.js';
import { COMPILED_SERVING_DEFAULTS, type ServingDefaults } from '../../api/config-defaults.js';
import { requireKind } from '../../api/kinds.js';
import { DEFAULTS_CONFIGMAP } from '../../api/labels.js';
import { defaultRevisionSpec, revisionSpecLimitErrors } from '../../api/revision-defaults.js';
import {
  SOURCE_DIR_ANNOTATION,
  type Condition,
  type EnvVar,
  type KObject,
  type Revision,
  type RevisionSpec,
  type Route,
  type Service,
  type ServiceStatus,
  type TrafficTarget,
} from '../../api/types.js';
import type { Clock } from '../../clock.js';
import type { RevisionRuntimeStatus, WorkloadRuntime } from '../../runtime/types.js';
import { type DesiredCondition, getCondition, isTrue, readyFrom, setConditions } from '../conditions.js';
import { WorkQueue } from '../work-queue.js';
import type { ResourceStore } from '../resource-store.js';
import {
  CONFIGURATION_GENERATION_LABEL,
  CONFIGURATION_LABEL,
  ROUTE_LABEL,
  SERVICE_LABEL,
  TEMPLATE_HASH_ANNOTATION,
  addressUrlFor,
  revisionKey,
  revisionName,
  urlFor,
} from './names.js';
import { progressDeadlineSeconds } from './progress-deadline.js';
import { revisionStatus } from './revision-status.js';
import { resolveTraffic, routeHosts } from './traffic.js';

/** What the serving reconciler needs of the autoscaler. */
export interface RevisionAutoscaler {
  upsert(key: string, opts: { annotations?: Record<string, string>; containerConcurrency: number; progressDeadlineSeconds?: number; resumeAt?: number }): void;
  remove(key: string): void;
  setReadyReplicas(key: string, n: number): void;
  /** The count a managed revision starts at (0 with initial-scale 0); undefined for a revision it does not manage. */
  initialScale(key: string): number | undefined;
}

/** What the serving reconciler needs of the activator. */
export interface RoutingSink {
  setRouting(snapshot: RoutingSnapshot): void;
  upsertRevision(state: RevisionState): void;
  removeRevision(key: string): void;
}

/**
 * Environment bound into a Service's revisions from outside its spec: SinkBinding's `K_SINK` and `K_CE_OVERRIDES`.
 * A change of it rolls a new revision, as Knative's SinkBinding does by patching the Service's template.
 */
export interface ServiceEnvSource {
  /**
   * The variables to set on every container of the Service's revision (over the container's own of the same name).
   * `settled: false` while a binding of the Service has not been reconciled yet: no revision is cut until it is,
   * so a Service applied together with its binding does not first roll a revision without `K_SINK`.
   */
  envFor(svc: Service): { env: EnvVar[]; settled: boolean };
  /** Calls `listener` with a namespace whose Services' bound env may have changed. Returns an unsubscribe. */
  watch(listener: (namespace: string) => void): () => void;
}

export interface ServingReconcilerOptions {
  store: ResourceStore;
  runtime: WorkloadRuntime;
  autoscaler: RevisionAutoscaler;
  activator: RoutingSink;
  clock: Clock;
  ingressPort: number;
  /** Address the Service ingress listens on, for Services' `status.address.url`. Default 127.0.0.1. */
  ingressHost?: string;
  /**
   * Base URL others reach the activator at (in the cluster, its Service's DNS name): a Service's `status.address.url`
   * is then `<base>/<ns>/<service>` instead of the local listener's address.
   */
  addressBase?: string;
  /** Working directory for revisions applied without a source-dir annotation. */
  defaultBaseDir: string;
  /** SinkBindings' env for Services; none when absent. */
  boundEnv?: ServiceEnvSource;
  /**
   * The current config-defaults, read when a Revision is cut (a change does not roll existing revisions, as in Knative,
   * where defaulting happens at admission). Default: the compiled defaults.
   */
  defaults?: () => ServingDefaults;
  onError?: (what: string, err: unknown) => void;
  /** A failed reconcile (e.g. a write the API server refused while away) is retried after this back-off. Default 100 ms → 10 s. */
  retry?: { initialMs: number; maxMs: number };
}

const kind = requireKind;
const SERVICES = kind('services');
const REVISIONS = kind('revisions');
const ROUTES = kind('routes');
const CONFIGURATIONS = kind('configurations');
const CONFIGMAPS = kind('configmaps');

/** Knative's config-domain: `knative-serving/config-domain`, each key a domain (the one with value "" the default). */
export const CONFIG_DOMAIN = { namespace: 'knative-serving', name: 'config-domain' } as const;

/** For revisions stored without `timeoutSeconds`; every revision cut gets it from config-defaults. */
const DEFAULT_TIMEOUT_SECONDS = COMPILED_SERVING_DEFAULTS.timeoutSeconds;
/** The domain of Services' URLs without a config-domain: `hello.default.localhost` resolves to loopback everywhere. */
export const DEFAULT_DOMAIN = 'localhost';

/** The domain of Services' URLs: config-domain's default (the key whose value is ""), else `localhost`. */
export function domainOf(store: Pick<ResourceStore, 'get' | 'serves'>): string {
  const cm = store.serves(CONFIGMAPS) ? store.get(CONFIGMAPS, CONFIG_DOMAIN.namespace, CONFIG_DOMAIN.name) : undefined;
  const data = (cm as { data?: Record<string, string> } | undefined)?.data ?? {};
  const keys = Object.keys(data).filter((k) => k !== '_example');
  return keys.find((k) => (data[k] ?? '').trim() === '') ?? keys[0] ?? DEFAULT_DOMAIN;
}

/**
 * Service → immutable Revisions + a Route, as Knative's service, configuration and route reconcilers do
 * together. Reacts to store events (a Service applied or deleted) and to runtime events (replicas ready,
 * failed), and publishes the routing snapshot the activator serves from.
 */
export class ServingReconciler {
  readonly #o: ServingReconcilerOptions;
  readonly #queue: WorkQueue;
  readonly #routes = new Map<string, Map<string, RouteEntry>>();
  readonly #managed = new Set<string>();
  readonly #unsubscribe: (() => void)[] = [];
  /** Revision status writes, one at a time per revision, from what the runtime reports when they run. */
  readonly #statusQueue: WorkQueue;

  constructor(options: ServingReconcilerOptions) {
    this.#o = options;
    const retry = { clock: options.clock, ...(options.retry ?? { initialMs: 100, maxMs: 10_000 }) };
    this.#queue = new WorkQueue({
      handler: (key) => this.#reconcile(key),
      onError: (key, err) => options.onError?.(`reconcile service ${key}`, err),
      retry,
    });
    this.#statusQueue = new WorkQueue({
      handler: (key) => this.#writeRevisionStatus(key),
      onError: (key, err) => options.onError?.(`status of revision ${key}`, err),
      retry,
    });
  }

  #domain(): string {
    return domainOf(this.#o.store);
  }

  /** Starts watching and reconciles everything already in the store (restart). */
  start(): void {
    this.#unsubscribe.push(
      this.#o.store.watch((ev) => {
        if (ev.kind.plural === 'services' && ev.kind.group === SERVICES.group) {
          this.#queue.add(`${ev.object.metadata.namespace}/${ev.object.metadata.name}`);
        } else if (ev.kind === CONFIGMAPS && ev.object.metadata.namespace === CONFIG_DOMAIN.namespace && ev.object.metadata.name === CONFIG_DOMAIN.name) {
          for (const svc of this.#o.store.list(SERVICES)) this.#queue.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
        } else if (ev.kind === CONFIGMAPS && ev.object.metadata.namespace === DEFAULTS_CONFIGMAP.namespace && ev.object.metadata.name === DEFAULTS_CONFIGMAP.name) {
          // No revision rolls (the template hash leaves the defaults out); a Service whose Revision could not be cut
          // under the old limits tries again.
          for (const svc of this.#o.store.list(SERVICES)) this.#queue.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
        } else if (ev.type === 'DELETED' && ev.kind.group === SERVICES.group && ev.kind.kind !== 'Service') {
          // A Revision, Configuration or Route deleted under a Service that still exists (kubectl delete): make it again.
          const svc = ev.object.metadata.labels?.[SERVICE_LABEL];
          if (svc) this.#queue.add(`${ev.object.metadata.namespace}/${svc}`);
        }
      }),
      this.#o.runtime.onChange((key, status) => this.#onRuntimeChange(key, status)),
    );
    const bound = this.#o.boundEnv;
    if (bound) {
      this.#unsubscribe.push(
        bound.watch((namespace) => {
          for (const svc of this.#o.store.list(SERVICES, namespace)) this.#queue.add(`${namespace}/${svc.metadata.name}`);
        }),
      );
    }
    for (const svc of this.#o.store.list(SERVICES)) this.#queue.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
  }

  /** Resolves when the reconciler has caught up with every change so far. */
  async idle(): Promise<void> {
    await this.#queue.idle();
    await this.#statusQueue.idle();
    await this.#queue.idle();
  }

  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.#queue.close();
    this.#statusQueue.close();
  }

  async #reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const svc = this.#o.store.get(SERVICES, namespace, name) as Service | undefined;
    if (!svc?.spec) return this.#teardown(namespace, name);

    const bound = this.#o.boundEnv?.envFor(svc) ?? { env: [], settled: true };
    // The binding's status write queues this Service again.
    if (!bound.settled) return;
    const revisions = this.#revisionsOf(namespace, name);
    const cut = await this.#ensureRevision(svc, revisions, bound.env);
    if (cut.name === undefined) return this.#creationFailed(svc, cut.failure ?? '');
    const latestCreated = { name: cut.name };
    const all = this.#revisionsOf(namespace, name);
    for (const rev of all) this.#deploy(rev);

    const latestReady = [...all].reverse().find((r) => isTrue(r.status?.conditions, 'Ready'))?.metadata.name;
    const traffic: TrafficTarget[] = svc.spec.traffic ?? [{ latestRevision: true, percent: 100 }];
    const names = new Set(all.map((r) => r.metadata.name));
    const resolution = resolveTraffic(traffic, names, latestCreated.name, latestReady);
    const port = this.#o.ingressPort;
    const domain = this.#domain();

    // Revisions that take traffic (and the newest, which must come up to become Ready) are autoscaled; others go to zero.
    const routed = new Set(resolution.ok ? resolution.targets.map((t) => t.revisionName) : []);
    routed.add(latestCreated.name);
    for (const rev of all) {
      const rkey = revisionKey(namespace, rev.metadata.name);
      if (routed.has(rev.metadata.name)) {
        if (!this.#managed.has(rkey)) {
          this.#managed.add(rkey);
          // A workload found running (a restart of Wisp in Kubernetes mode) keeps its replicas: the autoscaler
          // resumes from them instead of starting the revision over at its initial scale.
          const observed = this.#o.runtime.observedScale?.(rkey);
          this.#o.autoscaler.upsert(rkey, {
            annotations: rev.metadata.annotations ?? {},
            containerConcurrency: rev.spec?.containerConcurrency ?? 0,
            progressDeadlineSeconds: progressDeadlineSeconds(rev.metadata.annotations),
            ...(observed !== undefined && { resumeAt: observed }),
          });
          const current = this.#o.runtime.status(rkey);
          this.#o.autoscaler.setReadyReplicas(rkey, current?.ready.length ?? 0);
          // The status depends on the initial scale now known (Ready at zero with initial-scale 0).
          if (current) this.#onRuntimeChange(rkey, current);
        }
      } else if (this.#managed.delete(rkey)) {
        this.#o.autoscaler.remove(rkey);
        this.#o.runtime.scale(rkey, 0);
      }
    }

    // Routing: main hosts split by percent, one host per tag.
    const statusTraffic: TrafficTarget[] = [];
    const hosts = new Map<string, RouteEntry>();
    let routeCond: DesiredCondition;
    if (resolution.ok) {
      for (const [h, e] of routeHosts(namespace, name, resolution.targets, domain)) hosts.set(h, e);
      for (const t of resolution.targets) {
        const entry: TrafficTarget = { revisionName: t.revisionName, latestRevision: t.latestRevision, percent: t.percent };
        if (t.tag) {
          entry.tag = t.tag;
          entry.url = urlFor(name, namespace, port, t.tag, domain);
        }
        statusTraffic.push(entry);
      }
      routeCond = latestReady || resolution.targets.every((t) => !t.latestRevision)
        ? { type: 'RoutesReady', status: 'True' }
        : { type: 'RoutesReady', status: 'Unknown', reason: 'RevisionMissing', message: `Configuration "${name}" is waiting for a Revision to become ready.` };
    } else {
      routeCond = { type: 'RoutesReady', status: 'False', reason: resolution.reason, message: resolution.message };
    }
    const published = this.#routes.get(key);
    this.#routes.set(key, hosts);
    // The table is rebuilt from every Service's hosts: only when this Service's changed (most reconciles are status
    // churn), so N Services cost O(N) rebuilds of O(N) instead of one per reconcile.
    if (published === undefined || !isDeepStrictEqual(published, hosts)) this.#publishRouting();

    // Configuration readiness follows the latest created revision (Knative's ConfigurationsReady).
    const latestRev = all.find((r) => r.metadata.name === latestCreated.name);
    const revReady = getCondition(latestRev?.status?.conditions, 'Ready');
    let configCond: DesiredCondition;
    if (revReady?.status === 'True') configCond = { type: 'ConfigurationsReady', status: 'True' };
    else if (revReady?.status === 'False') {
      configCond = {
        type: 'ConfigurationsReady',
        status: 'False',
        reason: 'RevisionFailed',
        message: `Revision "${latestCreated.name}" failed with message: ${revReady.reason ?? ''}: ${revReady.message ?? ''}.`,
      };
    } else configCond = { type: 'ConfigurationsReady', status: 'Unknown', reason: 'RevisionMissing', message: `Configuration "${name}" is waiting for a Revision to become ready.` };
    // The template's new Revision could not be cut: the older ones keep serving, the Service says why (Knative's reason).
    if (cut.failure !== undefined) configCond = creationFailedCondition(cut.failure);

    const now = this.#o.clock.now();
    const url = urlFor(name, namespace, port, undefined, domain);

    // The Configuration Knative's service reconciler keeps beside the Route: the template, and which revisions it made.
    await this.#o.store.apply({
      apiVersion: `${CONFIGURATIONS.group}/${CONFIGURATIONS.version}`,
      kind: 'Configuration',
      metadata: { name, namespace, labels: { [SERVICE_LABEL]: name }, ownerReferences: [owner(svc)] },
      spec: { template: svc.spec.template },
    });
    const prevConfig = this.#o.store.get(CONFIGURATIONS, namespace, name);
    if (prevConfig) {
      const prevStatus = prevConfig.status as { conditions?: Condition[] } | undefined;
      await this.#o.store.updateStatus(CONFIGURATIONS, namespace, name, {
        observedGeneration: prevConfig.metadata.generation ?? 1,
        latestCreatedRevisionName: latestCreated.name,
        ...(latestReady && { latestReadyRevisionName: latestReady }),
        conditions: setConditions(prevStatus?.conditions, [{ ...configCond, type: 'Ready' }], now),
      });
    }

    const routeObj: Route = {
      apiVersion: ROUTES.group + '/' + ROUTES.version,
      kind: 'Route',
      metadata: { name, namespace, labels: { [SERVICE_LABEL]: name }, ownerReferences: [owner(svc)] },
      spec: { traffic },
    };
    await this.#o.store.apply(routeObj);
    const prevRoute = this.#o.store.get(ROUTES, namespace, name) as Route | undefined;
    await this.#o.store.updateStatus(ROUTES, namespace, name, {
      observedGeneration: prevRoute?.metadata.generation ?? 1,
      url,
      traffic: statusTraffic,
      conditions: setConditions(prevRoute?.status?.conditions, [readyFrom([routeCond]), { ...routeCond, type: 'AllTrafficAssigned' }], now),
    });

    const status: ServiceStatus = {
      observedGeneration: svc.metadata.generation ?? 1,
      url,
      // Workloads get this one (K_SINK): it needs no DNS. `url` stays the Host-routed address for people.
      address: { url: this.#o.addressBase !== undefined ? `${this.#o.addressBase}/${namespace}/${name}` : addressUrlFor(name, namespace, this.#o.ingressHost ?? '127.0.0.1', port) },
      latestCreatedRevisionName: latestCreated.name,
      traffic: statusTraffic,
      conditions: setConditions(svc.status?.conditions, [readyFrom([configCond, routeCond]), configCond, routeCond], now),
    };
    if (latestReady) status.latestReadyRevisionName = latestReady;
    // Deleted while this ran (kubectl delete ksvc): the next event tears it down.
    if (!this.#o.store.get(SERVICES, namespace, name)) return;
    await this.#o.store.updateStatus(SERVICES, namespace, name, status);
  }

  /**
   * Creates a Revision when the template changed since the newest one; returns the latest created. A template over
   * config-defaults' limits cuts none: `failure` says why, and `name` is the newest existing revision (if any).
   */
  async #ensureRevision(svc: Service, revisions: Revision[], bound: readonly EnvVar[]): Promise<{ name?: string; failure?: string }> {
    const { namespace, name } = svc.metadata;
    const template = svc.spec!.template;
    const hash = templateHash(svc, bound);
    const newest = revisions.at(-1);
    const wanted = template.metadata?.name;
    if (newest && newest.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] === hash && (!wanted || wanted === newest.metadata.name)) {
      return { name: newest.metadata.name };
    }
    const existing = wanted ? revisions.find((r) => r.metadata.name === wanted) : undefined;
    if (existing) return { name: existing.metadata.name };
    // Defaulted and bounded here, with config-defaults as it is now: in Kubernetes mode no admission saw the ksvc.
    const defaults = this.#o.defaults?.() ?? COMPILED_SERVING_DEFAULTS;
    const spec: RevisionSpec = defaultRevisionSpec(
      { ...template.spec, ...(bound.length > 0 ? { containers: template.spec.containers.map((c) => ({ ...c, env: withEnv(c.env, bound) })) } : {}) },
      defaults,
      name,
    );
    const limits = revisionSpecLimitErrors(spec, defaults, 'spec.template.spec');
    if (limits.length > 0) return { ...(newest && { name: newest.metadata.name }), failure: limits.map((e) => `${e.message}: ${e.field}`).join('; ') };
    // The counter is persisted in the store: names never repeat, across restarts or delete + re-create.
    const generation = await this.#o.store.nextRevisionNumber(namespace, name);
    const revName = wanted ?? revisionName(name, generation);
    const annotations: Record<string, string> = { ...(template.metadata?.annotations ?? {}), [TEMPLATE_HASH_ANNOTATION]: hash };
    const sourceDir = svc.metadata.annotations?.[SOURCE_DIR_ANNOTATION];
    if (sourceDir) annotations[SOURCE_DIR_ANNOTATION] = sourceDir;
    const rev: Revision = {
      apiVersion: `${REVISIONS.group}/${REVISIONS.version}`,
      kind: 'Revision',
      metadata: {
        name: revName,
        namespace,
        labels: {
          ...(template.metadata?.labels ?? {}),
          [SERVICE_LABEL]: name,
          [CONFIGURATION_LABEL]: name,
          [CONFIGURATION_GENERATION_LABEL]: String(generation),
          [ROUTE_LABEL]: name,
        },
        annotations,
        ownerReferences: [owner(svc)],
      },
      spec,
    };
    await this.#o.store.apply(rev);
    await this.#o.store.updateStatus(REVISIONS, namespace, revName, revisionStatus(undefined, undefined, 1, this.#o.clock.now()));
    return { name: revName };
  }

  /** No revision at all: the Service's status says why its first one could not be cut. */
  async #creationFailed(svc: Service, failure: string): Promise<void> {
    const { namespace, name } = svc.metadata;
    const configCond = creationFailedCondition(failure);
    const routeCond: DesiredCondition = { type: 'RoutesReady', status: 'Unknown', reason: 'RevisionMissing', message: `Configuration "${name}" does not have any ready Revision.` };
    if (!this.#o.store.get(SERVICES, namespace, name)) return;
    await this.#o.store.updateStatus(SERVICES, namespace, name, {
      ...(svc.status ?? {}),
      observedGeneration: svc.metadata.generation ?? 1,
      conditions: setConditions(svc.status?.conditions, [readyFrom([configCond, routeCond]), configCond, routeCond], this.#o.clock.now()),
    });
  }

  #deploy(rev: Revision): void {
    const { namespace, name } = rev.metadata;
    const key = revisionKey(namespace, name);
    const service = rev.metadata.labels?.[SERVICE_LABEL] ?? name;
    const container = rev.spec?.containers[0] ?? {};
    this.#o.runtime.deploy({
      key,
      namespace,
      service,
      configuration: rev.metadata.labels?.[CONFIGURATION_LABEL] ?? service,
      revision: name,
      ...(rev.metadata.uid !== undefined && { revisionUid: rev.metadata.uid }),
      ...(rev.metadata.labels && { labels: rev.metadata.labels }),
      ...(rev.metadata.annotations && { annotations: rev.metadata.annotations }),
      container,
      containers: rev.spec?.containers ?? [container],
      baseDir: rev.metadata.annotations?.[SOURCE_DIR_ANNOTATION] ?? this.#o.defaultBaseDir,
      timeoutSeconds: rev.spec?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      progressDeadlineSeconds: progressDeadlineSeconds(rev.metadata.annotations),
    });
    this.#pushRevision(rev, this.#o.runtime.status(key));
  }

  /** The data plane learns of replicas at once; the Revision's status is written after, through the status queue. */
  #onRuntimeChange(key: string, status: RevisionRuntimeStatus): void {
    const [namespace = '', name = ''] = key.split('/');
    const rev = this.#o.store.get(REVISIONS, namespace, name) as Revision | undefined;
    if (!rev) return;
    this.#o.autoscaler.setReadyReplicas(key, status.ready.length);
    this.#pushRevision(rev, status);
    this.#statusQueue.add(key);
  }

  async #writeRevisionStatus(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const rev = this.#o.store.get(REVISIONS, namespace, name) as Revision | undefined;
    const status = this.#o.runtime.status(key);
    if (!rev || !status) return;
    const before = getCondition(rev.status?.conditions, 'Ready')?.status;
    const next = revisionStatus(rev.status, status, rev.metadata.generation ?? 1, this.#o.clock.now(), {
      initialScale: this.#o.autoscaler.initialScale(key),
    });
    await this.#o.store.updateStatus(REVISIONS, namespace, name, next);
    if (getCondition(next.conditions, 'Ready')?.status !== before) {
      const svc = rev.metadata.labels?.[SERVICE_LABEL];
      if (svc) this.#queue.add(`${namespace}/${svc}`);
    }
  }

  #pushRevision(rev: Revision, status: RevisionRuntimeStatus | undefined): void {
    this.#o.activator.upsertRevision(revisionState(rev, status));
  }

  async #teardown(namespace: string, name: string): Promise<void> {
    this.#routes.delete(`${namespace}/${name}`);
    this.#publishRouting();
    for (const rev of this.#revisionsOf(namespace, name)) {
      const key = revisionKey(namespace, rev.metadata.name);
      this.#managed.delete(key);
      this.#o.autoscaler.remove(key);
      this.#o.activator.removeRevision(key);
      await this.#o.store.delete(REVISIONS, namespace, rev.metadata.name);
      await this.#o.runtime.remove(key);
    }
    if (this.#o.store.get(ROUTES, namespace, name)) await this.#o.store.delete(ROUTES, namespace, name);
    if (this.#o.store.get(CONFIGURATIONS, namespace, name)) await this.#o.store.delete(CONFIGURATIONS, namespace, name);
  }

  /** The Service's revisions, oldest first. */
  #revisionsOf(namespace: string, service: string): Revision[] {
    return (this.#o.store.list(REVISIONS, namespace, { [SERVICE_LABEL]: service }) as Revision[])
      // The selector copies only this Service's revisions; the filter keeps a reader that ignores it correct.
      .filter((r) => r.metadata.labels?.[SERVICE_LABEL] === service)
      .sort((a, b) => generationOf(a) - generationOf(b) || a.metadata.name.localeCompare(b.metadata.name));
  }

  #publishRouting(): void {
    const hosts = new Map<string, RouteEntry>();
    for (const entries of this.#routes.values()) for (const [h, e] of entries) hosts.set(h, e);
    this.#o.activator.setRouting({ hosts });
  }
}

/** Knative's Configuration condition when its Revision cannot be created (here: over config-defaults' limits). */
function creationFailedCondition(failure: string): DesiredCondition {
  return { type: 'ConfigurationsReady', status: 'False', reason: 'RevisionFailed', message: `Revision creation failed with message: ${failure}.` };
}

/** What the activator needs of a Revision: its settings from the spec, its ready endpoints and failure from the runtime. */
export function revisionState(rev: Revision, status: RevisionRuntimeStatus | undefined): RevisionState {
  const { namespace, name } = rev.metadata;
  return {
    key: revisionKey(namespace, name),
    namespace,
    service: rev.metadata.labels?.[SERVICE_LABEL] ?? name,
    revision: name,
    containerConcurrency: rev.spec?.containerConcurrency ?? 0,
    timeoutSeconds: rev.spec?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    endpoints: status?.ready ?? [],
    ...(status?.failure && { failure: status.failure }),
  };
}

function generationOf(r: KObject): number {
  return Number(r.metadata.labels?.[CONFIGURATION_GENERATION_LABEL] ?? 0);
}

function owner(svc: Service): { apiVersion: string; kind: string; name: string; uid?: string; controller: boolean } {
  const ref: { apiVersion: string; kind: string; name: string; uid?: string; controller: boolean } = {
    apiVersion: svc.apiVersion,
    kind: 'Service',
    name: svc.metadata.name,
    controller: true,
  };
  if (svc.metadata.uid) ref.uid = svc.metadata.uid;
  return ref;
}

/** `env` with `bound` set over it: a bound variable replaces the container's own of that name. */
function withEnv(env: readonly EnvVar[] | undefined, bound: readonly EnvVar[]): EnvVar[] {
  const names = new Set(bound.map((e) => e.name));
  return [...(env ?? []).filter((e) => !names.has(e.name)), ...bound];
}

/**
 * Identity of a template: a change of any of it, of the directory its process would run in (a relative
 * `workingDir` applied from another folder), or of the env bound into it (SinkBinding) cuts a new revision.
 * Without bound env the hash is what it was before bindings existed, so no revision rolls on upgrade.
 */
function templateHash(svc: Service, bound: readonly EnvVar[]): string {
  const t = svc.spec!.template;
  const sourceDir = svc.metadata.annotations?.[SOURCE_DIR_ANNOTATION];
  // Where a local process would run counts only for a template that runs as one (a command, a working directory,
  // applied from a folder): a ksvc applied with kubectl (image only) keeps its revision whatever folder Wisp runs in.
  const local = sourceDir !== undefined || t.spec.containers.some((c) => c.command !== undefined || c.workingDir !== undefined);
  const cwd = local ? resolvePath(sourceDir ?? '', t.spec.containers[0]?.workingDir ?? '.') : undefined;
  return createHash('sha256')
    .update(stableJson(bound.length > 0 ? { template: t, cwd, bound } : { template: t, cwd }))
    .digest('hex')
    .slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
