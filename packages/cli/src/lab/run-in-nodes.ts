import { fileURLToPath } from 'node:url';
import { type CommandRunner, DAEMON_LOGS_ENV } from '@cluster-lab/core';

/** Absolute path of the built CLI entry (`dist/bin.js`), run inside lab nodes. */
export function cliBinPath(): string {
  return fileURLToPath(new URL('./bin.js', import.meta.url));
}

/**
 * Node flags the CLI runs with (also in `bin.js`'s shebang). `start` and the supervisor are
 * short, I/O-bound runs: a 1 MB young generation (default 16 MB) cuts peak RSS by ~15 MB at no
 * measurable cost in wall time — it matters on a 1 GB Raspberry Pi running a supervisor per
 * node. (`--lite-mode`/`--jitless` would save more but break the WebAssembly that ssh2, a
 * dockerode dependency, loads.)
 */
export const CLI_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Arguments for `process.execPath` that run this CLI build with `args`. */
export function cliArgv(args: readonly string[]): string[] {
  return [...CLI_NODE_FLAGS, cliBinPath(), ...args];
}

/**
 * Environment of a CLI run inside a lab node: no colour, and the daemons' output in files in the
 * node's state dir even when this process runs under systemd (the lab's nodes are not units).
 */
export const LAB_CLI_ENV: Readonly<Record<string, string>> = { NO_COLOR: '1', [DAEMON_LOGS_ENV]: 'file' };

/** The last JSON object of a `--json` run, and every event before it. */
export interface JsonRun {
  exitCode: number;
  events: Record<string, unknown>[];
  /** The final `result` or `error` object, when the run printed one. */
  final: Record<string, unknown> | undefined;
  stderr: string;
  durationMs: number;
}

/** Parses one JSON object per line, ignoring anything else (a daemon banner, say). */
export function parseJsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not ours
    }
  }
  return out;
}

/**
 * Runs `cluster-lab <args> --json` with this very CLI build through `runner` (e.g. inside a lab
 * node) and collects its events.
 */
export async function runCliJson(runner: CommandRunner, args: string[], timeoutMs: number): Promise<JsonRun> {
  const started = performance.now();
  const result = await runner.run(process.execPath, cliArgv([...args, '--json']), {
    timeoutMs,
    reject: false,
    env: LAB_CLI_ENV,
  });
  const events = parseJsonLines(result.stdout);
  const final = [...events].reverse().find((e) => e.type === 'result' || e.type === 'error' || e.type === 'status' || e.type === 'health');
  return { exitCode: result.exitCode, events, final, stderr: result.stderr, durationMs: Math.round(performance.now() - started) };
}
