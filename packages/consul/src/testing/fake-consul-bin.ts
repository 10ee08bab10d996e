import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  // Works from src/testing (tests, via the `source` condition) and from dist/testing (built).
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('@cluster-lab/consul/testing: package.json not found above this module');
    dir = parent;
  }
  return dir;
}

/**
 * Absolute path of the fake `consul` executable (a TEST DOUBLE: `dist/fake-consul.js`, built by
 * `npm run build -w packages/consul`). It needs only Node ≥ 18 and its own file. Supports
 * `consul agent -config-file <f>`, `members`, `join`, `leave`, `version`, `kv get|put`.
 */
export const FAKE_CONSUL_BIN: string = join(packageRoot(), 'dist', 'fake-consul.js');

/** Throws a clear error when {@link FAKE_CONSUL_BIN} has not been built yet. */
export function assertFakeConsulBuilt(): string {
  if (!existsSync(FAKE_CONSUL_BIN)) {
    throw new Error(`fake consul executable ${FAKE_CONSUL_BIN} is missing: run \`npm run build -w packages/consul\` first`);
  }
  return FAKE_CONSUL_BIN;
}
