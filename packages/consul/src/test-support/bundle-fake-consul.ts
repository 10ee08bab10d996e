import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles the fake `consul` executable from source into a temp dir, the way tsup builds
 * `dist/fake-consul.js`, so unit tests exercise the current source without a prior build. Writes
 * `<dir>/consul`; the caller removes `dir`.
 */
export async function bundleFakeConsul(dir: string): Promise<string> {
  const outfile = join(dir, 'consul');
  await build({
    entryPoints: [fileURLToPath(new URL('../testing/fake-consul-cli.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'esm',
    outfile,
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'silent',
  });
  await chmod(outfile, 0o755);
  return outfile;
}

/** A random loopback address (127.x.y.z) so parallel tests never share ports. */
export function randomLoopback(): string {
  const b = () => 2 + Math.floor(Math.random() * 250);
  return `127.${b()}.${b()}.${b()}`;
}
