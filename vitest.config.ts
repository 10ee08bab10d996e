import { defineConfig } from 'vitest/config';

// Tests import workspace packages from source (the "source" export condition), so no build is
// needed before `vitest` and a test never runs against a stale dist/. Node-side (SSR) resolution
// has its own condition list in Vite 6+, so both get it. Only e2e tests run the built CLI.
const conditions = ['source', 'module', 'node', 'development|production'];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: ['source'] } };

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'examples/**/*.test.ts',
            'bench/**/*.test.ts',
            'docs/**/*.test.ts',
            'scripts/**/*.test.mjs',
          ],
          exclude: ['**/*.int.test.ts', '**/*.vm.test.ts', '**/node_modules/**', '**/dist/**'],
          testTimeout: 10_000,
          // Beside the integration tests (which mostly wait on daemons), never beside e2e labs.
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.int.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Root tests share one kernel, two cores and real daemons: a failure is retried once,
          // and scripts/flaky-reporter.mjs names every test that needed it.
          retry: 1,
          // Root tests share the kernel (namespaces, iptables, dockerd); two cores only.
          maxWorkers: 2,
          // Projects with one groupOrder share the pool: integration (with the in-process unit
          // tests), then e2e, then vm — no layer's real daemons time out because another layer's
          // labs hold both cores.
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve,
        ssr,
        test: {
          // What this machine's kernel cannot do (802.1Q) runs in QEMU with Debian's kernel
          // (scripts/setup-vm.sh). After every other project (groupOrder): a TCG VM keeps a
          // core busy, and the timing-sensitive root tests must not share the CPU with it.
          name: 'vm',
          include: ['packages/*/src/**/*.vm.test.ts', 'packages/cli/e2e/**/*.vm.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          maxWorkers: 2,
          sequence: { groupOrder: 3 },
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'e2e',
          include: ['packages/cli/e2e/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          retry: 1,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
