import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError } from './command-runner.js';
import { ExecaRunner } from './execa-runner.js';

const node = process.execPath;
const runner = new ExecaRunner();

async function errorOf(promise: Promise<unknown>): Promise<CommandError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CommandError);
  return error as CommandError;
}

/** Session id of a process (field 6 of /proc/<pid>/stat). */
async function sessionOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

describe('ExecaRunner.run', () => {
  it('returns stdout, stderr, exit code 0 and the command line', async () => {
    const result = await runner.run(node, ['-e', 'process.stdout.write("out\\n"); process.stderr.write("err")']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err' });
    expect(result.command).toBe(`${node} -e 'process.stdout.write("out\\n"); process.stderr.write("err")'`);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.signal).toBeUndefined();
  });

  it('runs `true` and passes arguments verbatim (no shell)', async () => {
    expect((await runner.run('true', [])).exitCode).toBe(0);
    const result = await runner.run(node, ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$HOME', 'a b', '; rm -rf /']);
    expect(JSON.parse(result.stdout)).toEqual(['$HOME', 'a b', '; rm -rf /']);
  });

  it('feeds input to stdin, and gives an empty stdin otherwise', async () => {
    const echo = ['-e', 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write("<"+s+">"))'];
    expect((await runner.run(node, echo, { input: 'hello' })).stdout).toBe('<hello>');
    expect((await runner.run(node, echo)).stdout).toBe('<>');
  });

  it('merges env over the current environment and honours cwd', async () => {
    const result = await runner.run(
      node,
      ['-e', 'console.log(process.env.CL_TEST_VAR, process.env.PATH ? "path" : "nopath", process.cwd())'],
      {
        env: { CL_TEST_VAR: 'x1' },
        cwd: '/tmp',
      },
    );
    expect(result.stdout.trim()).toBe('x1 path /tmp');
  });

  it('throws CommandError with exit code and stderr tail on a non-zero exit', async () => {
    const error = await errorOf(runner.run(node, ['-e', 'console.error("line1\\nline2\\nboom"); process.exit(3)']));
    expect(error).toMatchObject({
      exitCode: 3,
      notFound: false,
      timedOut: false,
      isCanceled: false,
      code: 'COMMAND_FAILED',
      errorClass: 'runtime',
    });
    expect(error.stderr).toBe('line1\nline2\nboom\n');
    expect(error.message).toMatch(/^`.+ -e .+` failed \(exit code 3\): line1\nline2\nboom$/);
  });

  it('`false` fails with exit code 1; with reject: false it resolves instead', async () => {
    const error = await errorOf(runner.run('false', []));
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('`false` failed (exit code 1)');
    const result = await runner.run('false', [], { reject: false });
    expect(result).toMatchObject({ command: 'false', exitCode: 1, stdout: '', stderr: '' });
  });

  it('reports death by a signal: throws, or exit code 128+n with reject: false', async () => {
    const script = ['-e', 'process.kill(process.pid, "SIGKILL")'];
    const error = await errorOf(runner.run(node, script));
    expect(error.signal).toBe('SIGKILL');
    expect(error.message).toContain('failed (killed by SIGKILL)');
    const result = await runner.run(node, script, { reject: false });
    expect(result).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
  });

  it('marks a missing program as notFound, even with reject: false', async () => {
    const error = await errorOf(runner.run('cluster-lab-no-such-program', ['--x'], { reject: false }));
    expect(error).toMatchObject({ notFound: true, exitCode: undefined, code: 'COMMAND_NOT_FOUND', errorClass: 'dependency' });
    expect(error.message).toBe(
      '`cluster-lab-no-such-program --x` failed (program not found): cluster-lab-no-such-program: command not found',
    );
    expect(error.hint).toBe('install `cluster-lab-no-such-program` or put it on PATH (`cluster-lab dependencies` lists what is needed)');
  });

  it('does not call a bad cwd or a non-executable file "not found", but still throws', async () => {
    const badCwd = await errorOf(runner.run('true', [], { cwd: '/nonexistent-cluster-lab-dir', reject: false }));
    expect(badCwd.notFound).toBe(false);
    expect(badCwd.message).toContain('could not start');
    expect(badCwd.message).toContain('cwd');
    const dir = await mkdtemp(join(tmpdir(), 'cl-core-noexec-'));
    const file = join(dir, 'not-executable');
    await writeFile(file, 'data', { mode: 0o644 });
    const notExecutable = await errorOf(runner.run(file, [], { reject: false })).finally(() => rm(dir, { recursive: true }));
    expect(notExecutable.notFound).toBe(false);
    expect(notExecutable.message).toContain('EACCES');
  });

  it('hands descriptors of this process to the program as fd 3, 4, … (the same open file)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cl-fds-'));
    try {
      const handle = await open(join(dir, 'out'), 'w');
      const result = await runner.run(node, ['-e', 'require("node:fs").writeSync(3, "via fd 3")'], { fds: [handle.fd] });
      await handle.close();
      expect(result.exitCode).toBe(0);
      expect(await readFile(join(dir, 'out'), 'utf8')).toBe('via fd 3');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('kills a command at its timeout and says so', async () => {
    const error = await errorOf(runner.run('sleep', ['5'], { timeoutMs: 150, reject: false }));
    expect(error).toMatchObject({ timedOut: true, code: 'COMMAND_TIMEOUT', signal: 'SIGTERM' });
    expect(error.durationMs).toBeGreaterThanOrEqual(140);
    expect(error.durationMs).toBeLessThan(4000);
    expect(error.message).toMatch(/^`sleep 5` failed \(timed out after \d+ ms\)$/);
  });

  it('cancels a command when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await errorOf(runner.run('sleep', ['5'], { signal: controller.signal }));
    expect(error).toMatchObject({ isCanceled: true, code: 'COMMAND_CANCELED' });
    expect(error.message).toBe('`sleep 5` failed (canceled)');
  });
});

describe('ExecaRunner.spawn', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-core-spawn-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts a detached daemon in its own session, logging stdout and stderr to the log file', async () => {
    const log = join(dir, 'daemon.log');
    const child = await runner.spawn(node, ['-e', 'console.log("hello out"); console.error("hello err"); setTimeout(() => {}, 30000)'], {
      detached: true,
      logFile: log,
      env: { CL_SPAWN: '1' },
    });
    try {
      expect(child.pid).toBeGreaterThan(1);
      expect(await sessionOf(child.pid)).toBe(child.pid);
      expect(await sessionOf(child.pid)).not.toBe(await sessionOf(process.pid));
      await expect.poll(async () => readFile(log, 'utf8').catch(() => ''), { timeout: 5000 }).toContain('hello err');
      expect(await readFile(log, 'utf8')).toContain('hello out');
    } finally {
      child.kill();
    }
    expect(await child.exited).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('appends to an existing log file', async () => {
    const log = join(dir, 'append.log');
    for (const word of ['first', 'second']) {
      const child = await runner.spawn(node, ['-e', `console.log(${JSON.stringify(word)})`], { detached: true, logFile: log });
      await child.exited;
    }
    expect(await readFile(log, 'utf8')).toBe('first\nsecond\n');
  });

  it('starts a plain child in our session and reports its exit code', async () => {
    const child = await runner.spawn('sleep', ['0.05']);
    expect(await sessionOf(child.pid)).toBe(await sessionOf(process.pid));
    expect(await child.exited).toEqual({ exitCode: 0, signal: null });
    // Killing an exited process must not throw or emit an unhandled 'error'.
    child.kill();
  });

  it('requires a log file for a detached process', async () => {
    await expect(runner.spawn('sleep', ['1'], { detached: true })).rejects.toThrow('spawn: `logFile` is required with `detached`');
  });

  it('rejects with a notFound CommandError when the program is missing', async () => {
    const error = await errorOf(runner.spawn('cluster-lab-no-such-daemon', [], { detached: true, logFile: join(dir, 'x.log') }));
    expect(error).toMatchObject({ notFound: true, code: 'COMMAND_NOT_FOUND', command: 'cluster-lab-no-such-daemon' });
  });
});
