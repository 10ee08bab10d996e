/**
 * Root-only tests call this at module level and pass the result to `describe.skipIf`. Outside
 * CI a non-root run skips them; under `CI=true` a missing root is an error, because a skipped
 * integration layer in CI would hide real failures.
 *
 * @example
 * ```ts
 * describe.skipIf(skipUnlessRoot())('real namespaces', () => { … });
 * ```
 */
export function skipUnlessRoot(): boolean {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) return false;
  if (process.env.CI === 'true') {
    throw new Error('root-only tests must run under CI=true, but this process is not root');
  }
  return true;
}

/** A short random suffix for names of namespaces/links a test creates (IFNAMSIZ-safe). */
export function uniqueSuffix(length = 5): string {
  return Math.random()
    .toString(36)
    .slice(2, 2 + length)
    .padEnd(length, '0');
}
