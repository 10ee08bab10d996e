import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (README.md, scripts/, .ci/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The README's "Quick start" section, split into its ```sh blocks, each as its lines verbatim. */
function quickStartBlocks(readme: string): string[][] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  if (!section) throw new Error('README.md has no "## Quick start" section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').split('\n').filter((l) => l.trim() !== ''));
}

/** A line as a user types it: the trailing `# comment` and the padding before it left out. */
function command(line: string): string {
  return line.replace(/\s+#.*$/, '').trim();
}

/**
 * The commands of the README's "Quick start", read from the README itself so tests run them
 * exactly as written: the first shell block (the main job: bring up the lab), the second (the
 * whole test suite) and the third (use the cluster from the same shell, in order).
 */
export function readmeQuickStart(readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8')): {
  main: string;
  test: string;
  use: string[];
} {
  const [mainBlock, testBlock, useBlock] = quickStartBlocks(readme);
  const main = mainBlock?.map(command).find((l) => l && !l.startsWith('#'));
  const test = testBlock?.map(command).find((l) => l && !l.startsWith('#'));
  if (!main || !test || !useBlock?.length)
    throw new Error('README.md quick start must have three ```sh blocks (main job, tests, using the cluster)');
  return { main, test, use: useBlock.filter((l) => !l.trim().startsWith('#')) };
}

/** Splits a plain README command (no quotes or shell syntax) into an argument array. */
export function argv(command: string): [string, ...string[]] {
  if (/["'$`|;&<>]/.test(command)) throw new Error(`README command is not a plain command: ${command}`);
  return command.split(/\s+/) as [string, ...string[]];
}
