import { fileURLToPath } from 'node:url';
import type { CommandRunner } from '@cluster-lab/core';

/** Absolute path of the built CLI entry (`dist/bin.js`), run inside lab nodes. */
export function cliBinPath(): string {
  return fileURLToPath(new URL('./bin.js', import.meta.url));
}

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
  const result = await runner.run(process.execPath, [cliBinPath(), ...args, '--json'], {
    timeoutMs,
    reject: false,
    env: { NO_COLOR: '1' },
  });
  const events = parseJsonLines(result.stdout);
  const final = [...events].reverse().find((e) => e.type === 'result' || e.type === 'error' || e.type === 'status' || e.type === 'health');
  return { exitCode: result.exitCode, events, final, stderr: result.stderr, durationMs: Math.round(performance.now() - started) };
}
