import type { CheckReport, ProgressEvent } from '@cluster-lab/core';
import { LiveLine, type LiveStream } from './live-line.js';

/** Where and how the CLI writes. */
export interface OutputOptions {
  json: boolean;
  verbose: boolean;
  /** Colour only on a TTY and when NO_COLOR is unset. */
  color: boolean;
  /**
   * Show the running step as a live line with its elapsed time: only on an interactive terminal
   * (not `--json`, not `--verbose`, whose `… step` lines stay as they are, not `TERM=dumb` or CI).
   */
  live: boolean;
  stdout: LiveStream;
  stderr: NodeJS.WritableStream;
}

/** Builds {@link OutputOptions} from flags and the environment (`NO_COLOR`, `TERM`, `CI`, TTY detection). */
export function outputOptions(
  flags: { json?: boolean; verbose?: boolean },
  env: Record<string, string | undefined> = process.env,
  streams: { stdout: LiveStream; stderr: NodeJS.WritableStream } = process,
): OutputOptions {
  const isTty = Boolean(streams.stdout.isTTY) && env.TERM !== 'dumb';
  return {
    json: Boolean(flags.json),
    verbose: Boolean(flags.verbose),
    color: isTty && !flags.json && (env.NO_COLOR === undefined || env.NO_COLOR === ''),
    live: isTty && !flags.json && !flags.verbose && env.CI === undefined,
    stdout: streams.stdout,
    stderr: streams.stderr,
  };
}

const CODES = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;

/**
 * Renders progress events and results: aligned progress lines on a terminal, one JSON object
 * per line with `--json`.
 */
export class Output {
  private readonly liveLine: LiveLine | undefined;

  constructor(readonly options: OutputOptions) {
    this.liveLine = options.live ? new LiveLine(options.stdout) : undefined;
  }

  /** Clears the live line, if one is showing (the process can then exit). */
  close(): void {
    this.liveLine?.close();
  }

  paint(color: keyof typeof CODES, text: string): string {
    return this.options.color ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
  }

  /** Writes a line to stdout (ignored in JSON mode; use {@link json}). */
  line(text = ''): void {
    if (!this.options.json) this.options.stdout.write(`${text}\n`);
  }

  /**
   * Writes one JSON object per line to stdout. An event gets the time it was written (`time`,
   * ISO 8601); pass `stamp: false` for a document that must stay exactly itself (a config).
   */
  json(value: unknown, stamp = true): void {
    this.options.stdout.write(`${JSON.stringify(stamp ? withTime(value) : value)}\n`);
  }

  warn(text: string): void {
    if (this.options.json) this.json({ type: 'log', level: 'warn', message: text });
    else this.options.stderr.write(`${this.paint('yellow', 'warning:')} ${text}\n`);
  }

  /** Event sink for {@link startNode}/{@link stopNode}. */
  readonly event = (event: ProgressEvent): void => {
    if (this.options.json) {
      this.json(event);
      return;
    }
    switch (event.type) {
      case 'step-started':
        if (this.options.verbose) this.line(this.paint('dim', `  … ${event.title}`));
        this.liveLine?.start(event.step, event.title);
        return;
      case 'step-finished':
        this.liveLine?.end(event.step);
        this.line(
          `${this.paint('green', 'PASS')} ${event.title.padEnd(34)} ${ms(event.durationMs)}${event.detail ? `  ${this.paint('dim', event.detail)}` : ''}`,
        );
        return;
      case 'step-skipped':
        this.liveLine?.end(event.step);
        this.line(`${this.paint('dim', 'SKIP')} ${event.title.padEnd(34)} ${this.paint('dim', event.reason)}`);
        return;
      case 'step-failed':
        this.liveLine?.end(event.step);
        this.line(`${this.paint('red', 'FAIL')} ${event.title.padEnd(34)} ${ms(event.durationMs)}`);
        return;
      case 'rollback-started':
        if (event.changes > 0) this.line(this.paint('yellow', `rolling back ${event.changes} change(s): ${event.reason.split('\n')[0]}`));
        return;
      case 'undo':
        if (!event.ok || this.options.verbose)
          this.line(
            `  ${event.ok ? 'undone' : this.paint('red', 'could not undo')} ${event.description}${event.error ? `: ${event.error}` : ''}`,
          );
        return;
      case 'rollback-finished':
        if (event.failed > 0)
          this.line(this.paint('red', `${event.failed} change(s) could not be undone; run \`cluster-lab stop --force\``));
        return;
      case 'log':
        if (event.level === 'warn') this.warn(event.message);
        else if (this.options.verbose || event.level === 'info')
          this.line(this.paint('dim', `  ${event.source ? `[${event.source}] ` : ''}${event.message}`));
        return;
    }
  };

  /** Prints one health check result. */
  check(report: CheckReport): void {
    if (this.options.json) {
      this.json({ type: 'check', ...report });
      return;
    }
    const color = report.status === 'PASS' ? 'green' : report.status === 'FAIL' ? 'red' : report.status === 'WARN' ? 'yellow' : 'dim';
    this.line(`${this.paint(color, report.status.padEnd(4))} ${report.title.padEnd(40)} ${report.detail}`);
    if (report.hint && report.status !== 'PASS') this.line(`     ${this.paint('dim', `hint: ${report.hint}`)}`);
  }

  /** Prints an aligned table. */
  table(headers: string[], rows: string[][]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const fmt = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    this.line(this.paint('bold', fmt(headers)));
    for (const row of rows) this.line(fmt(row));
  }
}

/** `value` with `time` added when it is a plain object (arrays and scalars are written as they are). */
export function withTime(value: unknown, now = new Date()): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value, time: now.toISOString() } : value;
}

function ms(durationMs: number): string {
  return durationMs >= 1000 ? `${(durationMs / 1000).toFixed(2)} s` : `${durationMs} ms`;
}
