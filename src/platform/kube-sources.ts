/**
 * ContainerSource and SinkBinding in Kubernetes mode (startLocalSources in index.ts is their embedded form): a
 * ContainerSource is a Deployment owned by the source; a SinkBinding patches the pod template of the Deployments it
 * selects, writes the admission policy that binds its Jobs as they are created, and binds ksvcs through their
 * revisions (the serving reconciler's `boundEnv`, wired in index.ts for both modes). Each part list-watches only
 * what it needs, in the namespace scope.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../clock.js';
import type { CoreServiceDirectory } from '../control/eventing/destination.js';
import { KubeClient } from '../control/kube/client.js';
import type { ResourceStore } from '../control/resource-store.js';
import { JobPolicies, KubeSinkBindingsReconciler, WorkloadSubjects } from '../importers/binding/index.js';
import { KubeContainerSources, KubeContainerSourcesReconciler } from '../importers/container/index.js';
import type { Logger } from './logger.js';

export interface KubeSourcesContext {
  store: ResourceStore;
  kubeConfig: KubeConfig;
  clock: Clock;
  log: Logger;
  /** `--namespace-scope`. */
  namespace?: string;
  /** The cluster's v1 Services, for sinks that name one. */
  services?: CoreServiceDirectory;
  closers: (() => Promise<void> | void)[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Starts both reconcilers and their cluster sides; each closes (in reverse order) through `closers`. */
export function startKubeSources(ctx: KubeSourcesContext): { idle(): Promise<void> } {
  const { store, kubeConfig, clock, log, closers } = ctx;
  const scope = ctx.namespace !== undefined ? { namespace: ctx.namespace } : {};
  const core = ctx.services !== undefined ? { coreServices: ctx.services } : {};
  const onError = (what: string, err: unknown): void => log.error(`${what}: ${message(err)}`);

  const workloads = new KubeContainerSources({
    kubeConfig,
    clock,
    ...scope,
    onError: (err) => log.warn(`containersources: ${message(err)}`),
    log: (m) => log.info(m),
  });
  void workloads.start();
  closers.push(() => workloads.close());
  const containerSources = new KubeContainerSourcesReconciler({ store, clock, workloads, ...core, onError });
  containerSources.start();
  closers.push(() => containerSources.stop());

  const jobPolicies = new JobPolicies({
    client: new KubeClient(kubeConfig),
    store,
    clock,
    ...scope,
    onError: (err) => log.warn(`sinkbindings (Job admission policies): ${message(err)}`),
    log: (m) => log.info(m),
  });
  jobPolicies.start();
  closers.push(() => jobPolicies.close());
  const subjects = new WorkloadSubjects({
    kubeConfig,
    store,
    clock,
    ...scope,
    jobPolicies,
    onError: (err) => log.warn(`sinkbindings: ${message(err)}`),
    log: (m) => log.info(m),
  });
  subjects.start();
  closers.push(() => subjects.close());
  const sinkBindings = new KubeSinkBindingsReconciler({ store, clock, subjects, ...core, onError });
  sinkBindings.start();
  closers.push(() => sinkBindings.stop());

  return {
    idle: async (): Promise<void> => {
      await containerSources.idle();
      await sinkBindings.idle();
    },
  };
}
