import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../command/execa-runner.js';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { isProcessAlive, killAndWait, readPidFile, startDaemon, stopDaemon, writePidFile } from './daemon.js';

const runner = new ExecaRunner();
const node = process.execPath;
let dir: string;
const started: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-core-daemon-'));
});
afterAll(async () => {
  // Whatever a failed assertion left running is ours to stop.
  for (const pid of started) await killAndWait(pid, 1000, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const paths = (name: string) => ({ pidFile: join(dir, 'run', `${name}.pid`), logFile: join(dir, 'log', `${name}.log`) });

describe('daemon helpers', () => {
  it('starts a detached sleep with a pid file, finds it again, stops it, and stops twice fine', async () => {
    const spec = { file: 'sleep', args: ['30'], name: 'sleep', ...paths('sleep') };
    const first = await startDaemon(runner, spec);
    started.push(first.pid);
    expect(first.started).toBe(true);
    expect(await isProcessAlive(first.pid)).toBe(true);
    const pidText = await readFile(spec.pidFile, 'utf8');
    expect(pidText.split('\n')[0]).toBe(String(first.pid));
    expect(pidText.split('\n')[1]).toMatch(/^\d+ [0-9a-f-]{36}$/);
    expect(await readPidFile(spec.pidFile)).toBe(first.pid);

    const again = await startDaemon(runner, spec);
    expect(again).toEqual({ pid: first.pid, pidFile: spec.pidFile, logFile: spec.logFile, started: false });

    expect(await stopDaemon(spec.pidFile)).toBe(true);
    expect(await isProcessAlive(first.pid)).toBe(false);
    await expect(readFile(spec.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await stopDaemon(spec.pidFile)).toBe(false);
  });

  it('waits for readiness, polling until ready() says yes (a throwing probe means not yet)', async () => {
    let polls = 0;
    const spec = {
      file: node,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      ...paths('ready'),
      pollMs: 10,
      // A probe that throws (connection refused) counts as "not yet".
      ready: async () => {
        if (++polls < 3) throw new Error('ECONNREFUSED');
        return true;
      },
    };
    const handle = await startDaemon(runner, spec);
    started.push(handle.pid);
    expect(polls).toBe(3);
    expect(await stopDaemon(spec.pidFile)).toBe(true);
  });

  it('kills a daemon that is not ready in time and reports the tail of its log', async () => {
    const spec: Parameters<typeof startDaemon>[1] & { logFile: string; pidFile: string } = {
      file: node,
      args: ['-e', 'console.log("binding 192.168.200.1:67"); console.error("address in use"); setInterval(() => {}, 1000)'],
      name: 'fake-dnsmasq',
      ...paths('not-ready'),
      // Never ready — but only answers once the daemon has written its log, so the report's tail
      // is not racing Node's start-up (which takes longer than the timeout on a loaded machine).
      ready: async () => {
        for (let i = 0; i < 500 && !(await readFile(spec.logFile, 'utf8').catch(() => '')).includes('address in use'); i++)
          await new Promise((r) => setTimeout(r, 20));
        return false;
      },
      readyTimeoutMs: 300,
      pollMs: 20,
    };
    const error = await startDaemon(runner, spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterLabError);
    expect(error).toMatchObject({ code: 'DAEMON_NOT_READY', hint: `see ${spec.logFile}` });
    expect((error as Error).message).toMatch(/^fake-dnsmasq was not ready within 300 ms:\n/);
    expect((error as Error).message).toContain('binding 192.168.200.1:67');
    expect((error as Error).message).toContain('address in use');
    expect(await readPidFile(spec.pidFile)).toBeUndefined();
  });

  it('reports a daemon that exits right after start, with its exit code and log', async () => {
    const spec = {
      file: node,
      args: ['-e', 'console.error("unknown option --bogus"); process.exit(2)'],
      name: 'consul',
      ...paths('exits'),
      ready: async () => false,
      readyTimeoutMs: 5000,
      pollMs: 20,
    };
    const error = await startDaemon(runner, spec).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DAEMON_EXITED' });
    expect((error as Error).message).toBe('consul exited right after start (exit code 2):\nunknown option --bogus');
    await expect(readFile(spec.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('escalates to SIGKILL when a daemon ignores SIGTERM', async () => {
    const spec = {
      file: node,
      args: ['-e', 'process.on("SIGTERM", () => console.log("ignoring TERM")); console.log("up"); setInterval(() => {}, 1000)'],
      ...paths('stubborn'),
      ready: async () => (await readFile(paths('stubborn').logFile, 'utf8').catch(() => '')).includes('up'),
      pollMs: 10,
    };
    const handle = await startDaemon(runner, spec);
    started.push(handle.pid);
    const t0 = Date.now();
    expect(await stopDaemon(spec.pidFile, { timeoutMs: 200 })).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    // Gone, or a zombie its parent is about to reap (on a loaded host that can take a moment).
    await expect.poll(() => isProcessAlive(handle.pid), { timeout: 2_000, interval: 20 }).toBe(false);
    expect(await readFile(spec.logFile, 'utf8')).toContain('ignoring TERM');
  });

  it('ignores a pid file whose pid is gone, or now names another process', async () => {
    const pidFile = join(dir, 'stale.pid');
    await writeFile(pidFile, '999999999\n');
    expect(await readPidFile(pidFile)).toBeUndefined();
    expect(await stopDaemon(pidFile)).toBe(false);
    await expect(readFile(pidFile)).rejects.toMatchObject({ code: 'ENOENT' });

    // Our own pid stands in for "a pid reused after a reboot": alive, but another identity.
    await writeFile(pidFile, `${process.pid}\n12345 00000000-0000-0000-0000-000000000000\n`);
    expect(await readPidFile(pidFile)).toBeUndefined();
    expect(await stopDaemon(pidFile)).toBe(false);
    expect(await isProcessAlive(process.pid)).toBe(true);

    // A plain pid file (written by another tool) is trusted as long as the process lives.
    await writeFile(pidFile, `${process.pid}\n`);
    expect(await readPidFile(pidFile)).toBe(process.pid);
    await writePidFile(pidFile, process.pid);
    expect(await readPidFile(pidFile)).toBe(process.pid);

    for (const junk of ['', 'abc', '1\n', '-5']) {
      await writeFile(pidFile, junk);
      expect(await readPidFile(pidFile)).toBeUndefined();
    }
    expect(await readPidFile(join(dir, 'absent.pid'))).toBeUndefined();
  });
});
