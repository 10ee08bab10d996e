import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI; e2e tests run it as a separate process, exactly as users do. */
export const CLI_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** Result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/bin.js …args` (optionally through a prefix like nsenter) and never throws. */
export function runCli(
  args: string[],
  options: { prefix?: string[]; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  const prefix = options.prefix ?? [];
  const [file, ...rest] = prefix.length ? [...prefix, process.execPath, CLI_BIN, ...args] : [process.execPath, CLI_BIN, ...args];
  return new Promise((resolve) => {
    execFile(
      file as string,
      rest,
      {
        encoding: 'utf8',
        timeout: options.timeoutMs ?? 240_000,
        env: { ...process.env, NO_COLOR: '1', ...options.env },
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Parses `--json` output: one object per line. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
