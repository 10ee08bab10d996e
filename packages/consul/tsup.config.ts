import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts', 'src/testing/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
  },
  {
    // The fake `consul` executable (TEST DOUBLE): one self-contained file on node built-ins only,
    // so it runs on any Node >= 18, including inside a minimal container image.
    entry: { 'fake-consul': 'src/testing/fake-consul-cli.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node18',
    dts: false,
    sourcemap: false,
    clean: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
