import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (README.md, scripts/, .ci/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The two commands of the README's "Quick start", read from the README itself so CI exercises
 * them exactly as written: the first shell block (the main job) and the second (the tests).
 */
export function readmeQuickStart(): { main: string; test: string } {
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(
    (m) =>
      (m[1] ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))[0],
  );
  const [main, test] = blocks;
  if (!main || !test) throw new Error('README.md quick start must have two ```sh blocks (main job, tests)');
  return { main, test };
}

/** Splits a plain README command (no quotes or shell syntax) into an argument array. */
export function argv(command: string): [string, ...string[]] {
  if (/["'$`|;&<>]/.test(command)) throw new Error(`README command is not a plain command: ${command}`);
  return command.split(/\s+/) as [string, ...string[]];
}
