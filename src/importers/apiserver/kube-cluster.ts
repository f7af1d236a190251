import type { Clock } from '../../clock.js';
import type { KubeClient } from '../../control/kube/client.js';
import { kubeApiServerAccess } from './kube-access.js';
import { KubeApiServerSourceRunner } from './kube-runner.js';
import type { ApiServerClusterOptions } from './reconciler.js';
import type { WatchProblem } from './kube-spec.js';

/**
 * ApiServerSources watching the cluster (Kubernetes mode). Its own module, imported only in that mode, so the
 * embedded default does not load @kubernetes/client-node.
 */
export function kubeApiServerCluster(client: KubeClient, clock: Clock, onProblem: (key: string, problem: WatchProblem) => void): ApiServerClusterOptions {
  return { access: kubeApiServerAccess(client, clock), Runner: KubeApiServerSourceRunner, onProblem };
}
