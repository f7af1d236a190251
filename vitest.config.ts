import { configDefaults, defineConfig } from 'vitest/config';

const roots = ['test', 'core', 'src', 'activator', 'autoscaler', 'broker'];
const allTests = roots.map((r) => `${r}/**/*.test.ts`);
// Tests that need a real Kafka: their own project, whose globalSetup starts one Kafka per run
// (or uses WISP_KAFKA_BROKERS). Kafka starts only when one of these files is selected.
const kafkaTests = [...roots.map((r) => `${r}/**/*kafka*.test.ts`), 'test/integration/kafka/**/*.test.ts'];

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
          exclude: [...configDefaults.exclude, 'dist/**', ...kafkaTests],
        },
      },
      {
        extends: true,
        test: {
          name: 'kafka',
          include: kafkaTests,
          exclude: [...configDefaults.exclude, 'dist/**'],
          globalSetup: ['test/support/kafka/global-setup.ts'],
        },
      },
    ],
  },
});
