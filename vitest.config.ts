import { defineConfig } from 'vitest/config';

// Tests import workspace packages from source (the "source" export condition), so no build is
// needed before `vitest`. Only e2e tests run the built CLI from dist/.
const resolve = { conditions: ['source'] };

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'examples/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
          testTimeout: 10_000,
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.int.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Root tests share the kernel (namespaces, iptables, dockerd); two cores only.
          maxWorkers: 2,
        },
      },
      {
        resolve,
        test: {
          name: 'e2e',
          include: ['packages/cli/e2e/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
