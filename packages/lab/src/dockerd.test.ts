import { appendFileSync, existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ExecaRunner, FakeRunner, isProcessAlive, writePidFile } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dockerdArgs, dockerdPaths, pingDocker, removeCgroups, startDockerd, stopDockerd } from './dockerd.js';

describe('dockerd paths and arguments', () => {
  it('keeps every dockerd path inside the node directory and names the cgroup after the lab', () => {
    expect(dockerdPaths('/run/cluster-lab/lab/x-abcde/node1', 'x-abcde', 'node1')).toEqual({
      node: 'node1',
      socket: '/run/cluster-lab/lab/x-abcde/node1/docker.sock',
      dataRoot: '/run/cluster-lab/lab/x-abcde/node1/docker',
      execRoot: '/run/cluster-lab/lab/x-abcde/node1/x',
      pidFile: '/run/cluster-lab/lab/x-abcde/node1/dockerd.pid',
      dockerPidFile: '/run/cluster-lab/lab/x-abcde/node1/docker.pid',
      logFile: '/run/cluster-lab/lab/x-abcde/node1/dockerd.log',
      cgroupParent: '/cl-x-abcde-node1',
    });
  });

  it('refuses a node directory that would make the socket path too long', () => {
    expect(() => dockerdPaths(`/run/${'d'.repeat(90)}/node1`, 'x', 'node1')).toThrow(
      expect.objectContaining({ code: 'LAB_SOCKET_PATH_TOO_LONG' }),
    );
  });

  it('starts dockerd without touching iptables or creating a bridge by default', () => {
    const paths = dockerdPaths('/s/n1', 'l-1', 'node1');
    expect(dockerdArgs(paths)).toEqual([
      '--data-root=/s/n1/docker',
      '--exec-root=/s/n1/x',
      '--host=unix:///s/n1/docker.sock',
      '--pidfile=/s/n1/docker.pid',
      '--cgroup-parent=/cl-l-1-node1',
      '--shutdown-timeout=2',
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
    ]);
    expect(dockerdArgs(paths, { iptables: true, extraArgs: ['--debug'] }).slice(-2)).toEqual(['--shutdown-timeout=2', '--debug']);
  });
});

describe('dockerd process handling', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(`${tmpdir()}/lab-dockerd-`);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a dockerd that never answers with the tail of its log', async () => {
    const paths = dockerdPaths(dir, 't', 'node1');
    await writeFile(paths.logFile, 'level=info msg="an earlier run"\n');
    // Only what this start's dockerd wrote counts (the log is kept across runs).
    const runner = new FakeRunner().onSpawn('dockerd', () => {
      appendFileSync(paths.logFile, 'level=info msg="starting"\nlevel=fatal msg="failed to start daemon: no space"\n');
      return true;
    });
    const error = await startDockerd(runner, paths, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LAB_DOCKERD_NOT_READY', message: expect.stringContaining('failed to start daemon: no space') });
    expect(runner.commands('spawn')).toEqual([`dockerd ${dockerdArgs(paths).join(' ')}`]);
  });

  it('answers false when nothing listens on the socket', async () => {
    expect(await pingDocker(`${dir}/none.sock`)).toBe(false);
  });

  it('ends a dockerd that reported its shutdown complete but lingers (it would ignore SIGTERM here)', async () => {
    const paths = dockerdPaths(dir, 't', 'node1');
    await writeFile(paths.logFile, 'level=info msg="API listen on docker.sock"\n');
    // A stand-in that ignores SIGTERM: only the "shutdown complete" path can end it in time.
    const child = await new ExecaRunner().spawn('sh', ['-c', 'trap "" TERM; while :; do sleep 0.05; done']);
    await writePidFile(paths.pidFile, child.pid);
    const logLine = setTimeout(() => void appendFile(paths.logFile, 'level=info msg="Daemon shutdown complete"\n'), 100);
    try {
      await stopDockerd(paths);
    } finally {
      clearTimeout(logLine);
    }
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(existsSync(paths.pidFile)).toBe(false);
  });

  it('stops the process named by the pid file, waits for it, and removes its cgroups', async () => {
    const paths = dockerdPaths(dir, 't', 'node1');
    const child = await new ExecaRunner().spawn('sleep', ['30']);
    await writePidFile(paths.pidFile, child.pid);
    const cgroups = `${dir}/cgroup`;
    await mkdir(`${cgroups}/memory${paths.cgroupParent}/abc123`, { recursive: true });
    await mkdir(`${cgroups}/pids`, { recursive: true });
    await stopDockerd(paths);
    await removeCgroups(paths.cgroupParent, cgroups);
    expect(await child.exited).toMatchObject({ signal: 'SIGTERM' });
    expect(await isProcessAlive(child.pid)).toBe(false);
    expect(existsSync(paths.pidFile)).toBe(false);
    expect(existsSync(`${cgroups}/memory${paths.cgroupParent}`)).toBe(false);
    expect(existsSync(`${cgroups}/pids`)).toBe(true);
    await expect(stopDockerd(paths)).resolves.toBeUndefined();
  });
});
