/**
 * The Kubernetes side of seams.ts, imported only in Kubernetes mode (and by the data-plane components): the store
 * list-watches Wisp's CRDs through client-node, the runtime runs a Deployment + Service per Revision.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { KubeClient, loadKubeConfig } from '../control/kube/client.js';
import { KubeStore, type KubeStoreKind } from '../control/kube/store.js';
import type { ResourceStore } from '../control/resource-store.js';
import { ClusterServices, KubernetesRuntime } from '../runtime/kubernetes/index.js';
import type { Logger } from './logger.js';
import { dataPlaneKinds, kubernetesKinds, type Seams } from './seams.js';
import type { PlatformOptions } from './types.js';

export async function openKubernetesSeams(options: PlatformOptions, ctx: { clock: Clock; log: Logger; stateDir: string }): Promise<Seams> {
  const { kubeConfig, client, store } = await openKubeStore(options, ctx, kubernetesKinds(options.kubernetes?.namespace));
  const k = options.kubernetes ?? {};
  let services: ClusterServices | undefined;
  try {
    services = await ClusterServices.create({
      kubeConfig,
      clock: ctx.clock,
      ...(k.namespace !== undefined && { namespace: k.namespace }),
      onError: (err) => ctx.log.warn(`kubernetes services: ${err instanceof Error ? err.message : String(err)}`),
    });
    const runtime = await KubernetesRuntime.create({
      kubeConfig,
      clock: ctx.clock,
      logger: { info: (m) => ctx.log.info(m), warn: (m) => ctx.log.warn(m) },
      ...(k.namespace !== undefined && { namespace: k.namespace }),
    });
    const scope = k.namespace !== undefined ? `namespace ${k.namespace}` : 'all namespaces';
    const outOfCluster = (process.env.KUBERNETES_SERVICE_HOST ?? '') === '';
    return {
      mode: 'kubernetes',
      store,
      runtime,
      services,
      outOfCluster,
      client,
      ...(!outOfCluster && { inClusterNamespace: podNamespace() }),
      describe: `kubernetes (${client.server}, context ${kubeConfig.getCurrentContext()}, ${scope})`,
    };
  } catch (err) {
    await services?.close();
    await store.close();
    throw err;
  }
}

/** What a data-plane component runs on: its own list-watch of the kinds it reads, and the runtime's or the Services' watch. */
export interface DataPlaneSeams {
  store: ResourceStore;
  client: KubeClient;
  /** The activator: ready endpoints and failures of revisions (read only: it never deploys or scales). */
  runtime?: KubernetesRuntime;
  /** The broker: v1 Services that Triggers name, and their endpoints outside the cluster. */
  services?: ClusterServices;
  outOfCluster: boolean;
  inClusterNamespace?: string;
  describe: string;
  close(): Promise<void>;
}

export async function openDataPlaneSeams(component: 'activator' | 'broker', options: PlatformOptions, ctx: { clock: Clock; log: Logger }): Promise<DataPlaneSeams> {
  const scope = options.kubernetes?.namespace;
  const { kubeConfig, client, store } = await openKubeStore(options, ctx, dataPlaneKinds(component, scope));
  const ns = scope !== undefined ? { namespace: scope } : {};
  try {
    const runtime =
      component === 'activator'
        ? await KubernetesRuntime.create({ kubeConfig, clock: ctx.clock, logger: { info: (m) => ctx.log.info(m), warn: (m) => ctx.log.warn(m) }, ...ns })
        : undefined;
    const services =
      component === 'broker'
        ? await ClusterServices.create({ kubeConfig, clock: ctx.clock, ...ns, onError: (err) => ctx.log.warn(`kubernetes services: ${err instanceof Error ? err.message : String(err)}`) })
        : undefined;
    const outOfCluster = (process.env.KUBERNETES_SERVICE_HOST ?? '') === '';
    return {
      store,
      client,
      ...(runtime && { runtime }),
      ...(services && { services }),
      outOfCluster,
      ...(!outOfCluster && { inClusterNamespace: podNamespace() }),
      describe: `kubernetes ${component} (${client.server}, context ${kubeConfig.getCurrentContext()}, ${scope !== undefined ? `namespace ${scope}` : 'all namespaces'})`,
      close: async () => {
        await services?.close();
        await runtime?.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function openKubeStore(options: PlatformOptions, ctx: { clock: Clock; log: Logger }, kinds: KubeStoreKind[]) {
  const k = options.kubernetes ?? {};
  const kubeConfig = loadKubeConfig({ ...(k.kubeconfig !== undefined && { kubeconfig: k.kubeconfig }), ...(k.context !== undefined && { context: k.context }) });
  const client = new KubeClient(kubeConfig);
  const store = await KubeStore.open({
    client,
    kinds,
    ...(k.namespace !== undefined && { namespace: k.namespace }),
    clock: ctx.clock,
    onError: (err, where) => ctx.log.warn(`kubernetes store: ${where}: ${err instanceof Error ? err.message : String(err)}`),
  });
  return { kubeConfig, client, store };
}

/** The namespace of the Pod this process runs in: its ServiceAccount's namespace file, POD_NAMESPACE, or wisp-system. */
function podNamespace(): string {
  try {
    const ns = readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
    if (ns !== '') return ns;
  } catch {
    // not mounted: fall through
  }
  return (process.env.POD_NAMESPACE ?? '').trim() || 'wisp-system';
}
