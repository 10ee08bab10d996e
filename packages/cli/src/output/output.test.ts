import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeLiveLines } from './live-line.js';
import { Output, outputOptions } from './output.js';

/** A stream that records what was written; with `tty`, it answers like a terminal does. */
class FakeStream extends Writable {
  chunks: string[] = [];
  isTTY: boolean;
  columns = 100;
  cursor: string[] = [];

  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(String(chunk));
    done();
  }

  // The terminal methods yocto-spinner redraws with (tty.WriteStream's).
  cursorTo(x: number): boolean {
    this.cursor.push(`cursorTo ${x}`);
    return true;
  }
  moveCursor(dx: number, dy: number): boolean {
    this.cursor.push(`moveCursor ${dx} ${dy}`);
    return true;
  }
  clearLine(dir: number): boolean {
    this.cursor.push(`clearLine ${dir}`);
    return true;
  }

  get text(): string {
    return this.chunks.join('');
  }
}

function setup(flags: { json?: boolean; verbose?: boolean }, tty: boolean, env: Record<string, string | undefined> = {}) {
  const stdout = new FakeStream(tty);
  const stderr = new FakeStream(tty);
  const out = new Output(outputOptions(flags, env, { stdout, stderr }));
  return { out, stdout, stderr };
}

const started = { type: 'step-started', step: 'election', title: 'Leader election' } as const;
const finished = { type: 'step-finished', step: 'election', title: 'Leader election', durationMs: 1234, detail: 'leader' } as const;
const PASS_LINE = `PASS ${'Leader election'.padEnd(34)} 1.23 s  leader\n`;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date', 'performance'] });
  vi.setSystemTime(new Date('2026-12-01T10:00:00.000Z'));
  // yocto-spinner, like most CLIs, never animates under CI; these tests are about a terminal.
  vi.stubEnv('CI', undefined);
});
afterEach(() => {
  closeLiveLines();
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('Output on a terminal', () => {
  it('shows the running step with its elapsed time, then replaces it with the PASS line', () => {
    const { out, stdout } = setup({}, true);
    out.event(started);
    vi.advanceTimersByTime(1200);
    const live = stripVTControlCharacters(stdout.text);
    expect(live).toContain('Leader election 0.0 s');
    expect(live).toContain('Leader election 1.2 s');
    expect(stdout.text).toContain('\u001b[?25l'); // cursor hidden while the line is live

    stdout.chunks = [];
    out.event(finished);
    expect(stdout.cursor).toContain('clearLine 1');
    expect(stripVTControlCharacters(stdout.text)).toMatch(/^PASS Leader election +1\.23 s {2}leader\n$/m);
    expect(stdout.text).toContain('\u001b[?25h'); // cursor back
    // Nothing redraws after the step ended.
    stdout.chunks = [];
    vi.advanceTimersByTime(1000);
    expect(stdout.text).toBe('');
  });

  it('lists overlapping steps on one line, and keeps the line below lines printed meanwhile', () => {
    const { out, stdout } = setup({}, true);
    out.event({ type: 'step-started', step: 'dhcp', title: 'DHCP server' });
    vi.advanceTimersByTime(300);
    out.event({ type: 'step-started', step: 'consul', title: 'Consul agent' });
    vi.advanceTimersByTime(200);
    expect(stripVTControlCharacters(stdout.text)).toContain('DHCP server 0.5 s · Consul agent 0.2 s');
    out.event({ type: 'step-finished', step: 'dhcp', title: 'DHCP server', durationMs: 500 });
    const after = stripVTControlCharacters(stdout.text.slice(stdout.text.lastIndexOf('PASS')));
    expect(after).toMatch(/^PASS DHCP server +500 ms\n/);
    expect(after).toContain('Consul agent');
    out.event({ type: 'step-failed', step: 'consul', title: 'Consul agent', durationMs: 900, error: { code: 'X', message: 'm' } });
    expect(stripVTControlCharacters(stdout.text)).toMatch(/FAIL Consul agent +900 ms\n$/);
  });

  it('paints PASS green unless NO_COLOR is set', () => {
    const coloured = setup({}, true);
    coloured.out.event(finished);
    expect(coloured.stdout.text).toContain('\u001b[32mPASS\u001b[0m');
    const plain = setup({}, true, { NO_COLOR: '1' });
    plain.out.event(finished);
    expect(plain.stdout.text).toContain('PASS Leader election');
    expect(plain.stdout.text).not.toContain('\u001b[32m');
  });

  it('--verbose keeps its "… step" lines and has no live line', () => {
    const { out, stdout } = setup({ verbose: true }, true);
    out.event(started);
    vi.advanceTimersByTime(500);
    out.event(finished);
    expect(stripVTControlCharacters(stdout.text)).toBe(`  … Leader election\n${PASS_LINE}`);
    expect(stdout.cursor).toEqual([]);
  });

  it('has no live line under CI or TERM=dumb', () => {
    for (const env of [{ CI: 'true' }, { TERM: 'dumb' }]) {
      const { out, stdout } = setup({}, true, env);
      out.event(started);
      vi.advanceTimersByTime(500);
      expect(stdout.text).toBe('');
      out.event(finished);
      expect(stripVTControlCharacters(stdout.text)).toBe(PASS_LINE);
      expect(stdout.cursor).toEqual([]);
    }
  });
});

describe('Output elsewhere', () => {
  it('prints plain lines when stdout is not a terminal: no live line, no escape codes', () => {
    const { out, stdout } = setup({}, false);
    out.event(started);
    vi.advanceTimersByTime(2000);
    out.event(finished);
    expect(stdout.text).toBe(PASS_LINE);
  });

  it('--json: one object per line, each event with its ISO time; a config document unstamped', () => {
    const { out, stdout } = setup({ json: true }, true);
    out.event(started);
    vi.advanceTimersByTime(1500);
    out.event(finished);
    out.json({ interface: 'eth0' }, false);
    const lines = stdout.text.trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { ...started, time: '2026-12-01T10:00:00.000Z' },
      { ...finished, time: '2026-12-01T10:00:01.500Z' },
      { interface: 'eth0' },
    ]);
  });
});
