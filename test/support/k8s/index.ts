/**
 * A real Kubernetes control plane for Wisp's tests (test infrastructure, not part of Wisp). Test files under
 * test/k8s/ or named `*.k8s.test.ts` run in the vitest `k8s` project, whose globalSetup starts one shared cluster
 * per run; they reach it with k8sKubeconfig()/kubectl(), each in namespaces of its own, and start a test kubelet
 * for their namespaces with startTestKubelet(). Tests that break the control plane (kill the API server) start
 * their own with startControlPlane().
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { K8sSupportError } from './errors.js';
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl.js';
import { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.js';
import type {} from './provided.js';

export { startControlPlane, type ControlPlane, type StartControlPlaneOptions, type TokenUser } from './control-plane.js';
export { ensureK8sBinaries, ETCD_VERSION, KUBERNETES_VERSION, type EnsureK8sBinariesOptions, type K8sBinaries } from './binaries.js';
export { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl.js';
export { K8sSupportError, type K8sSupportErrorCode } from './errors.js';
// The test kubelet (test/support/k8s/kubelet.ts):

/** Admin kubeconfig path of the cluster for this test run. */
export function k8sKubeconfig(): string {
  const fromEnv = process.env['WISP_TEST_KUBECONFIG']?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const provided = inject('k8sKubeconfig') as string | undefined;
  if (provided === undefined || provided === '') {
    throw new K8sSupportError(
      'WISP_ERR_K8S_NOT_PROVIDED',
      'No Kubernetes for this test: the shared control plane is started only for the vitest "k8s" project. Put the test ' +
        'under test/k8s/ (or name it *.k8s.test.ts), or set WISP_TEST_KUBECONFIG=<kubeconfig path>.',
    );
  }
  return provided;
}

/** The kubectl for this run's cluster. */
export function k8sKubectlPath(): string {
  const provided = inject('k8sKubectl') as string | undefined;
  return provided === undefined || provided === '' ? 'kubectl' : provided;
}

/** kubectl against this run's cluster (admin), e.g. `kubectl(['apply', '-f', '-'], { input: yaml })`. */
export function kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  return runKubectl(k8sKubectlPath(), opts.kubeconfig ?? k8sKubeconfig(), args, opts);
}

/**
 * A test kubelet on this run's cluster for the given namespaces only (so kubelets of parallel test files never
 * bind each other's Pods), on a Node of its own. Stop it in afterAll: `await kubelet.stop({ deleteNode: true })`.
 */
export function startTestKubelet(opts: Omit<KubeletOptions, 'kubeconfigPath' | 'namespaces'> & { namespaces: readonly string[] }): Promise<Kubelet> {
  return startKubelet({ nodeName: `wisp-test-node-${randomUUID().slice(0, 8)}`, ...opts, kubeconfigPath: k8sKubeconfig() });
}
