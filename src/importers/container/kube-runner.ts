/**
 * ContainerSources on Kubernetes, the I/O half (kube-plan.ts builds what to write): one KubeContainerSources per
 * platform list-watches the Deployments and Pods carrying `sources.knative.dev/containerSource` (the runtime's
 * Reflector) and keeps each source's Deployment as built, one write in flight per source (the runtime's KeyedWriter:
 * newest value wins, failed writes retried with back-off). A KubeContainerSourceRunner per source hands its
 * Deployment in and reports `Deployed` from what the watches show.
 *
 * Nothing here deletes: the Deployment is owned by its ContainerSource, so `kubectl delete containersource` lets the
 * garbage collector remove it (even while Wisp is down), and stopping Wisp leaves it running, as Knative leaves a
 * receive adapter running while its controller restarts. A sink change is an update of the same Deployment.
 */
import type { KubeConfig, V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { Clock } from '../../clock.js';
import { apiError, call, callOptions, httpStatusOf, listWatchSource, makeClients, type KubeClients } from '../../runtime/kubernetes/api.js';
import { KubernetesApiError } from '../../runtime/kubernetes/errors.js';
import { KeyedWriter } from '../../runtime/kubernetes/keyed-writer.js';
import { deploymentUpdate } from '../../runtime/kubernetes/objects.js';
import { Reflector, type Listed, type ListWatchSource } from '../../runtime/kubernetes/reflector.js';
import type { SourceRunner } from '../source-reconciler.js';
import type { DeployState } from '../status.js';
import {
  CONTAINER_SOURCE_LABEL,
  containerSourceDeploymentName,
  containerSourceHealth,
  isControlledBy,
  type KubeContainerRunSpec,
  type ObservedContainerSource,
} from './kube-plan.js';

export interface KubeContainerSourcesOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  /** Watch and write only this namespace (`--namespace-scope`); default every namespace. */
  namespace?: string;
  /** A failed list, watch or write (each is retried). */
  onError?: (err: unknown) => void;
  /** What was created or updated. */
  log?: (message: string) => void;
  /** Retry back-off of writes and re-watches: initialMs (200 writes, 500 watches) doubling to maxMs (30 000). */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** HTTP statuses that mean "the API server refuses this Deployment" (`Deployed` False until a write succeeds). */
const REFUSED = new Set([400, 403, 422]);

function sourceOf(obj: Listed & { metadata?: { labels?: Record<string, string> | undefined } | undefined }): string | undefined {
  const v = obj.metadata?.labels?.[CONTAINER_SOURCE_LABEL];
  return v === undefined || v === '' ? undefined : v;
}

/** The Deployments and Pods of every ContainerSource in scope, and the writes that keep each Deployment as built. */
export class KubeContainerSources {
  readonly #clients: KubeClients;
  readonly #deployments: Reflector<V1Deployment>;
  readonly #pods: Reflector<V1Pod>;
  readonly #writer: KeyedWriter<V1Deployment>;
  readonly #failures = new Map<string, { reason: string; message: string }>();
  /** Called with the key of a source whose objects changed, or undefined: look again at every source. */
  readonly #listeners = new Set<(key: string | undefined) => void>();
  readonly #o: KubeContainerSourcesOptions;
  #started: Promise<void> | undefined;

  constructor(opts: KubeContainerSourcesOptions) {
    this.#o = opts;
    this.#clients = makeClients(opts.kubeConfig);
    const { apps, core, watch } = this.#clients;
    const o = callOptions();
    const namespace = opts.namespace;
    const labelSelector = CONTAINER_SOURCE_LABEL;
    const backoff = { initialMs: opts.backoff?.initialMs ?? 500, maxMs: opts.backoff?.maxMs ?? 30_000 };
    const reflector = <T extends Listed>(source: ListWatchSource<T>, keyOf: (obj: T) => string | undefined) =>
      new Reflector<T>({
        source,
        clock: opts.clock,
        keyOf,
        backoff,
        onChange: (keys) => {
          for (const k of keys) this.#notify(k);
        },
        onError: (err, during) => opts.onError?.(apiError(`${during} ${source.what}`, err)),
      });
    this.#deployments = reflector<V1Deployment>(
      listWatchSource<V1Deployment>(watch, {
        what: 'containersource deployments',
        prefix: '/apis/apps/v1',
        resource: 'deployments',
        namespace,
        labelSelector,
        list: (ls) => (namespace !== undefined ? apps.listNamespacedDeployment({ namespace, labelSelector: ls }, o) : apps.listDeploymentForAllNamespaces({ labelSelector: ls }, o)),
      }),
      (d) => {
        const source = sourceOf(d);
        return source !== undefined && d.metadata?.name === containerSourceDeploymentName(source) ? `${d.metadata.namespace ?? ''}/${source}` : undefined;
      },
    );
    this.#pods = reflector<V1Pod>(
      listWatchSource<V1Pod>(watch, {
        what: 'containersource pods',
        prefix: '/api/v1',
        resource: 'pods',
        namespace,
        labelSelector,
        list: (ls) => (namespace !== undefined ? core.listNamespacedPod({ namespace, labelSelector: ls }, o) : core.listPodForAllNamespaces({ labelSelector: ls }, o)),
      }),
      (p) => {
        const source = sourceOf(p);
        return source === undefined ? undefined : `${p.metadata?.namespace ?? ''}/${source}`;
      },
    );
    this.#writer = new KeyedWriter<V1Deployment>({
      clock: opts.clock,
      backoff: { initialMs: opts.backoff?.initialMs ?? 200, maxMs: opts.backoff?.maxMs ?? 30_000 },
      write: (key, deployment) => this.#ensure(key, deployment),
      onError: (_key, err) => opts.onError?.(err),
    });
  }

  /** Starts the list-watches; resolves once both have listed (the runners say `Listing` until then). */
  start(): Promise<void> {
    this.#started ??= Promise.all([this.#deployments.start(), this.#pods.start()]).then(() => this.#notify(undefined));
    return this.#started;
  }

  /** Keeps the Deployment of source `key` (`<ns>/<name>`) as `deployment` says. */
  want(key: string, deployment: V1Deployment): void {
    this.#writer.set(key, deployment);
  }

  /** Stops keeping source `key`'s Deployment (it stays in the cluster); resolves when its write in flight ended. */
  async forget(key: string): Promise<void> {
    await this.#writer.forget(key);
    this.#failures.delete(key);
  }

  /** What the watches show of source `key`. */
  observed(key: string): ObservedContainerSource {
    const deployment = this.#deployments.byKey(key).find((d) => !d.metadata?.deletionTimestamp);
    return {
      synced: this.#deployments.synced && this.#pods.synced,
      deployment,
      pods: this.#pods.byKey(key),
      apiFailure: this.#failures.get(key),
    };
  }

  onChange(listener: (key: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops the watches and the writes in flight; leaves every Deployment as it is. */
  async close(): Promise<void> {
    await Promise.all([this.#writer.close(), this.#deployments.stop(), this.#pods.stop()]);
  }

  /** Creates the Deployment, or puts what differs (labels, owner, the pod template), keeping its replica count. */
  async #ensure(key: string, want: V1Deployment): Promise<void> {
    const namespace = want.metadata?.namespace ?? '';
    const name = want.metadata?.name ?? '';
    const what = `Deployment ${namespace}/${name}`;
    const o = callOptions();
    try {
      let existing: V1Deployment | undefined;
      try {
        existing = await call(`read ${what}`, () => this.#clients.apps.readNamespacedDeployment({ name, namespace }, o));
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw err;
      }
      if (!existing) {
        await call(`create ${what}`, () => this.#clients.apps.createNamespacedDeployment({ namespace, body: want }, o));
        this.#o.log?.(`containersource ${key}: created ${what}`);
      } else {
        if (existing.metadata?.deletionTimestamp) throw new KubernetesApiError(`update ${what}`, 409, 'it is being deleted; trying again');
        const owner = want.metadata?.ownerReferences?.[0];
        if (!isControlledBy(existing, owner?.uid)) {
          // Knative's DeploymentNotOwned: never take over someone else's Deployment (tried again: it may be going).
          this.#fail(key, { reason: 'DeploymentNotOwned', message: `Deployment "${name}" is not owned by ContainerSource "${owner?.name ?? key}"` });
          throw new KubernetesApiError(`update ${what}`, 409, 'it is not owned by this ContainerSource');
        }
        const update = deploymentUpdate(existing, want);
        if (update) {
          await call(`update ${what}`, () => this.#clients.apps.replaceNamespacedDeployment({ name, namespace, body: update }, o));
          this.#o.log?.(`containersource ${key}: updated the pod template of ${what}`);
        }
      }
    } catch (err) {
      const status = httpStatusOf(err);
      if (status !== undefined && REFUSED.has(status)) this.#fail(key, { reason: 'DeploymentFailed', message: err instanceof Error ? err.message : String(err) });
      throw err;
    }
    if (this.#failures.delete(key)) this.#notify(key);
  }

  #fail(key: string, failure: { reason: string; message: string }): void {
    const before = this.#failures.get(key);
    this.#failures.set(key, failure);
    if (before?.reason !== failure.reason || before.message !== failure.message) this.#notify(key);
  }

  #notify(key: string | undefined): void {
    for (const l of [...this.#listeners]) l(key);
  }
}

export interface KubeContainerSourceRunnerOptions {
  spec: KubeContainerRunSpec;
  workloads: KubeContainerSources;
  /** Called when health() changes. */
  requeue: () => void;
}

type RunnerState = 'new' | 'running' | 'stopped';

/** One ContainerSource's Deployment, kept as its plan says; `Deployed` from the Deployment and its Pods. */
export class KubeContainerSourceRunner implements SourceRunner {
  readonly #o: KubeContainerSourceRunnerOptions;
  readonly #key: string;
  #state: RunnerState = 'new';
  #healthSig = '';
  #unsubscribe: (() => void) | undefined;

  constructor(options: KubeContainerSourceRunnerOptions) {
    this.#o = options;
    this.#key = `${options.spec.namespace}/${options.spec.name}`;
  }

  get spec(): KubeContainerRunSpec {
    return this.#o.spec;
  }

  start(): void {
    if (this.#state !== 'new') throw new Error(`ContainerSource ${this.#key}: runner cannot start when ${this.#state}`);
    this.#state = 'running';
    this.#unsubscribe = this.#o.workloads.onChange((k) => {
      if (k === undefined || k === this.#key) this.#check();
    });
    this.#o.workloads.want(this.#key, this.#o.spec.deployment);
    this.#healthSig = JSON.stringify(this.health());
  }

  health(): DeployState {
    return containerSourceHealth(this.#o.workloads.observed(this.#key), containerSourceDeploymentName(this.#o.spec.name));
  }

  /** Stops keeping the Deployment (never deletes it: the garbage collector does, with its source). */
  stop(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    const started = this.#state === 'running';
    this.#state = 'stopped';
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    return started ? this.#o.workloads.forget(this.#key) : Promise.resolve();
  }

  #check(): void {
    if (this.#state !== 'running') return;
    const sig = JSON.stringify(this.health());
    if (sig === this.#healthSig) return;
    this.#healthSig = sig;
    this.#o.requeue();
  }
}
