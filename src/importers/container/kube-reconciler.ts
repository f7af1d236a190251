/**
 * ContainerSources' reconciler in Kubernetes mode: resolves each source's `spec.sink` like a Trigger subscriber and
 * keeps its Deployment `<source>-deployment` (kube-plan.ts) in the cluster with `K_SINK` and `K_CE_OVERRIDES`; a
 * sink change updates that Deployment, which rolls its Pods. Status as embedded (`sinkUri`; Ready, SinkProvided,
 * Deployed), `Deployed` from the Deployment's availability and its Pods' failures. The watch/queue/sink/status
 * skeleton is SourceReconciler's.
 */
import type { Clock } from '../../clock.js';
import type { CoreServiceDirectory } from '../../control/eventing/destination.js';
import type { ResourceStore } from '../../control/resource-store.js';
import { kindNamed, SourceReconciler } from '../source-reconciler.js';
import { sourceStatus } from '../status.js';
import { planKubeContainerSource, type KubeContainerRunSpec } from './kube-plan.js';
import { KubeContainerSourceRunner, type KubeContainerSources } from './kube-runner.js';

export interface KubeContainerSourcesReconcilerOptions {
  store: ResourceStore;
  clock: Clock;
  /** The cluster side: Deployments and Pods of ContainerSources, and the writes. */
  workloads: KubeContainerSources;
  /** The cluster's v1 Services, for sinks that name one. */
  coreServices?: CoreServiceDirectory;
  /** Reconcile failures (`what` says which). */
  onError?: (what: string, err: unknown) => void;
}

const CONTAINERSOURCES = kindNamed('containersources.sources.knative.dev');

export class KubeContainerSourcesReconciler extends SourceReconciler<KubeContainerRunSpec, KubeContainerSourceRunner> {
  constructor(o: KubeContainerSourcesReconcilerOptions) {
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined && { onError: o.onError }),
      ...(o.coreServices !== undefined && { coreServices: o.coreServices }),
      source: {
        kind: CONTAINERSOURCES,
        label: 'containersource',
        waitingForSink: 'The Deployment is created once the sink resolves.',
        plan: planKubeContainerSource,
        createRunner: (_key, spec, requeue) => new KubeContainerSourceRunner({ spec, workloads: o.workloads, requeue }),
        status: (source, state) => sourceStatus({ generation: source.metadata.generation ?? 1, ceAttributes: [], ...state }),
      },
    });
  }
}
