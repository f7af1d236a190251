/** What the `k8s` vitest project's globalSetup hands to test workers via provide/inject. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig of the run's shared cluster (the one global-setup started, or WISP_TEST_KUBECONFIG). */
    k8sKubeconfig: string;
    /** The kubectl to drive it with (the built v1.37.2 one; `kubectl` from PATH for a cluster of your own). */
    k8sKubectl: string;
  }
}

export {};
