/**
 * The two seams of DESIGN.md §5, chosen here and nowhere else: the resource store and the workload runtime.
 * Embedded (default): the Store in `<state-dir>/store.json` and local processes. Kubernetes (`--runtime kubernetes`):
 * the cluster's API server (Wisp's CRDs, list-watched through client-node) and one Deployment + Service per Revision.
 * The reconcilers, the autoscaler and the activator above them are the same code in both.
 *
 * Kubernetes mode lives in seams-kube.ts and is imported only when chosen: @kubernetes/client-node alone is about
 * 80 MB of resident memory that the embedded default never uses.
 */
import { requireKind } from '../api/kinds.js';
import type { Clock } from '../clock.js';
import type { KubeClient } from '../control/kube/client.js';
import type { KubeStoreKind } from '../control/kube/store.js';
import type { ResourceStore } from '../control/resource-store.js';
import { Store } from '../control/store.js';
import type { ClusterServices } from '../runtime/kubernetes/index.js';
import { LocalRuntime } from '../runtime/local/runtime.js';
import type { WorkloadRuntime } from '../runtime/types.js';
import type { Logger } from './logger.js';
import type { PlatformOptions } from './types.js';

export type Seams =
  | { mode: 'embedded'; store: Store; runtime: LocalRuntime; describe: string }
  | {
      mode: 'kubernetes';
      store: ResourceStore;
      runtime: WorkloadRuntime;
      describe: string;
      /** The cluster's v1 Services and their endpoints (Trigger subscribers and sinks that name one). */
      services: ClusterServices;
      /**
       * Wisp runs outside the cluster (no KUBERNETES_SERVICE_HOST): `*.svc.cluster.local` does not resolve here, so
       * deliveries to a v1 Service go to one of its ready endpoints instead.
       */
      outOfCluster: boolean;
      /** In the cluster: the namespace Wisp's Pod runs in (its ServiceAccount's, else POD_NAMESPACE, else wisp-system). */
      inClusterNamespace?: string;
      /** Wisp's own client of the cluster (ApiServerSources watch through it, impersonating their ServiceAccounts). */
      client: KubeClient;
    };

const kind = requireKind;

/** The namespace of Knative Serving's ConfigMaps (config-autoscaler, config-domain), watched in Kubernetes mode. */
export const KNATIVE_SERVING_NAMESPACE = 'knative-serving';

/** The namespace of Knative Eventing's ConfigMaps (e.g. `kafka-broker-config`, named by a Broker's `spec.config`). */
export const KNATIVE_EVENTING_NAMESPACE = 'knative-eventing';

/**
 * The kinds Kubernetes mode serves: Knative Serving's four; Brokers and Triggers; the sources that run in Wisp's own
 * process (PingSource, KafkaSource, ApiServerSource: it watches the cluster as its ServiceAccount); ContainerSource
 * (a Deployment per source) and SinkBinding (it patches its Deployments, admits its Jobs, binds its ksvcs); and
 * ConfigMaps (config-autoscaler and config-domain in `knative-serving`, a Broker's `spec.config`): in every namespace,
 * or with `--namespace-scope` in that one and Knative's two.
 */
export function kubernetesKinds(scope?: string): KubeStoreKind[] {
  return [
    { info: kind('services.serving.knative.dev') },
    { info: kind('configurations') },
    { info: kind('revisions') },
    { info: kind('routes') },
    { info: kind('brokers.eventing.knative.dev') },
    { info: kind('triggers.eventing.knative.dev') },
    { info: kind('pingsources') },
    { info: kind('kafkasources') },
    { info: kind('apiserversources') },
    { info: kind('containersources') },
    { info: kind('sinkbindings') },
    scope === undefined ? { info: kind('configmaps') } : { info: kind('configmaps'), namespaces: [scope, KNATIVE_SERVING_NAMESPACE, KNATIVE_EVENTING_NAMESPACE] },
  ];
}

export async function openSeams(options: PlatformOptions, ctx: { clock: Clock; log: Logger; stateDir: string }): Promise<Seams> {
  if ((options.runtime ?? 'embedded') === 'embedded') {
    const store = await Store.open({ dir: ctx.stateDir });
    try {
      const runtime = await LocalRuntime.create({ clock: ctx.clock, stateDir: ctx.stateDir, host: '127.0.0.1', logger: ctx.log });
      return { mode: 'embedded', store, runtime, describe: 'embedded (local processes)' };
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  const { openKubernetesSeams } = await import('./seams-kube.js');
  return openKubernetesSeams(options, ctx);
}

/**
 * The kinds a data-plane component reads (`wisp up --component activator|broker`), and nothing more, so its
 * ServiceAccount needs only get/list/watch on them: the activator the Routes and Revisions the controller wrote and
 * config-domain; the broker Brokers, Triggers, ksvcs (subscriber addresses) and ConfigMaps (a Broker's spec.config).
 */
export function dataPlaneKinds(component: 'activator' | 'broker', scope?: string): KubeStoreKind[] {
  if (component === 'activator') {
    return [{ info: kind('routes') }, { info: kind('revisions') }, { info: kind('configmaps'), namespaces: [KNATIVE_SERVING_NAMESPACE] }];
  }
  return [
    { info: kind('brokers.eventing.knative.dev') },
    { info: kind('triggers.eventing.knative.dev') },
    { info: kind('services.serving.knative.dev') },
    scope === undefined ? { info: kind('configmaps') } : { info: kind('configmaps'), namespaces: [scope, KNATIVE_EVENTING_NAMESPACE] },
  ];
}

