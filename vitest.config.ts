import { configDefaults, defineConfig } from 'vitest/config';

const roots = ['test', 'core', 'src', 'activator', 'autoscaler', 'broker'];
const allTests = roots.map((r) => `${r}/**/*.test.ts`);
// Tests that need a real Kafka: their own project, whose globalSetup starts one Kafka per run
// (or uses WISP_KAFKA_BROKERS). Kafka starts only when one of these files is selected.
const kafkaTests = [...roots.map((r) => `${r}/**/*kafka*.test.ts`), 'test/integration/kafka/**/*.test.ts'];
// Tests that need a real Kubernetes control plane: their own project, whose globalSetup builds the binaries once (minutes
// on a cold cache; globalSetup has no timeout) and starts one shared control plane per run (or uses WISP_TEST_KUBECONFIG).
const k8sTests = ['test/k8s/**/*.test.ts', ...roots.map((r) => `${r}/**/*.k8s.test.ts`)];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: allTests,
          exclude: [...configDefaults.exclude, 'dist/**', ...kafkaTests, ...k8sTests],
        },
      },
      {
        extends: true,
        test: {
          name: 'kafka',
          include: kafkaTests,
          // A k8s test that needs Kafka starts its own (it runs in the k8s project only).
          exclude: [...configDefaults.exclude, 'dist/**', ...k8sTests],
          globalSetup: ['test/support/kafka/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'k8s',
          include: k8sTests,
          exclude: [...configDefaults.exclude, 'dist/**'],
          globalSetup: ['test/support/k8s/global-setup.ts'],
          // Starting a control plane of its own (etcd + kube-apiserver + controller-manager) takes ~10 s on 2 idle cores
          // and more while the other projects' tests load the machine; each component may take up to 90 s before
          // startControlPlane() gives up with its log, so hooks get 4 min and tests 2 min.
          hookTimeout: 240_000,
          testTimeout: 120_000,
        },
      },
    ],
  },
});
