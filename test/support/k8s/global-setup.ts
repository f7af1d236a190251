/**
 * globalSetup of the vitest `k8s` project: builds the binaries once (minutes on a cold cache, then cached outside
 * the repo) and starts ONE shared control plane per run, only when k8s tests run. Its admin kubeconfig reaches the
 * tests through `inject('k8sKubeconfig')` (see k8sKubeconfig() in index.ts) and the env WISP_TEST_KUBECONFIG.
 * WISP_TEST_KUBECONFIG set by the user means "use that cluster" and nothing is started.
 */
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startControlPlane } from './control-plane.js';
import type {} from './provided.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env['WISP_TEST_KUBECONFIG']?.trim();
  if (external !== undefined && external !== '') {
    const binDir = process.env['WISP_K8S_BIN_DIR']?.trim();
    project.provide('k8sKubeconfig', external);
    project.provide('k8sKubectl', binDir ? join(binDir, 'kubectl') : 'kubectl');
    return undefined;
  }
  const cp = await startControlPlane({ log: (m) => console.log(`[k8s] ${m}`) });
  // Workers are forked after this hook and inherit the env: tests (and processes they start) that read it find the cluster.
  process.env['WISP_TEST_KUBECONFIG'] = cp.kubeconfigPath;
  project.provide('k8sKubeconfig', cp.kubeconfigPath);
  project.provide('k8sKubectl', cp.binaries.kubectl);
  return async () => {
    delete process.env['WISP_TEST_KUBECONFIG'];
    await cp.stop();
  };
}
