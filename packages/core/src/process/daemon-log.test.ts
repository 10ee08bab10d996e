import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../command/execa-runner.js';
import { FakeRunner } from '../command/fake-runner.js';
import { startDaemon, stopDaemon } from './daemon.js';
import {
  DAEMON_LOG_MAX_BYTES,
  daemonCommand,
  daemonLog,
  describeDaemonLog,
  readDaemonOutput,
  rotateLog,
  tailDaemonOutput,
} from './daemon-log.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-daemon-log-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const yes = async () => true;
const no = async () => false;

describe('daemonLog: the journal under systemd, files elsewhere', () => {
  it('under systemd (INVOCATION_ID or JOURNAL_STREAM) with systemd-cat: the journal, as cluster-lab-<name>', async () => {
    expect(await daemonLog('consul', '/s/consul.log', { INVOCATION_ID: 'abc' }, yes)).toEqual({
      mode: 'journal',
      identifier: 'cluster-lab-consul',
      logFile: '/s/consul.log',
    });
    expect((await daemonLog('dnsmasq', '/s/d.log', { JOURNAL_STREAM: '8:1234' }, yes)).mode).toBe('journal');
  });

  it('files outside systemd (the lab, tests, by hand) and where systemd-cat is missing', async () => {
    expect((await daemonLog('consul', '/s/c.log', {}, yes)).mode).toBe('file');
    expect((await daemonLog('consul', '/s/c.log', { INVOCATION_ID: 'abc' }, no)).mode).toBe('file');
  });

  it('CLUSTER_LAB_DAEMON_LOGS forces either', async () => {
    expect((await daemonLog('consul', '/s/c.log', { INVOCATION_ID: 'abc', CLUSTER_LAB_DAEMON_LOGS: 'file' }, yes)).mode).toBe('file');
    expect((await daemonLog('consul', '/s/c.log', { CLUSTER_LAB_DAEMON_LOGS: 'journal' }, no)).mode).toBe('journal');
  });

  it("wraps the daemon in systemd-cat (which execs it: the pid stays the daemon's) only in journal mode", async () => {
    const journal = await daemonLog('dnsmasq', '/s/d.log', { INVOCATION_ID: 'x' }, yes);
    expect(daemonCommand('dnsmasq', ['--keep-in-foreground'], journal)).toEqual({
      file: 'systemd-cat',
      args: ['--identifier=cluster-lab-dnsmasq', '--', 'dnsmasq', '--keep-in-foreground'],
    });
    expect(describeDaemonLog(journal)).toBe('journalctl -u cluster-lab -t cluster-lab-dnsmasq');
    const file = await daemonLog('dnsmasq', '/s/d.log', {}, yes);
    expect(daemonCommand('dnsmasq', ['--keep-in-foreground'], file)).toEqual({ file: 'dnsmasq', args: ['--keep-in-foreground'] });
    expect(describeDaemonLog(file)).toBe('/s/d.log');
  });

  it("reads a run's output from the journal by identifier and pid, or from the file after the run's offset", async () => {
    const runner = new FakeRunner().on('journalctl', { prefix: ['--no-pager'] }, { stdout: 'dnsmasq: started\nDHCP, IP range …\n' });
    const journal = { mode: 'journal' as const, identifier: 'cluster-lab-dnsmasq', logFile: '/s/d.log' };
    expect(await readDaemonOutput(runner, journal, 4242)).toContain('DHCP, IP range');
    expect(await tailDaemonOutput(runner, journal, 20)).toContain('started');
    expect(runner.commands()).toEqual([
      'journalctl --no-pager --quiet --boot --identifier=cluster-lab-dnsmasq _PID=4242 --output=cat',
      'journalctl --no-pager --quiet --identifier=cluster-lab-dnsmasq --lines=20 --output=cat',
    ]);
    const logFile = join(dir, 'offset.log');
    await writeFile(logFile, 'old run\nnew run\n');
    expect(await readDaemonOutput(runner, { mode: 'file', identifier: 'x', logFile }, 1, 'old run\n'.length)).toBe('new run\n');
  });
});

describe('startDaemon and the journal', () => {
  it('under systemd starts `systemd-cat --identifier=cluster-lab-<name> -- <daemon>` and sees it ready in the journal', async () => {
    const runner = new FakeRunner()
      .onSpawn('systemd-cat', { prefix: ['--identifier=cluster-lab-dnsmasq'] })
      .on('journalctl', { prefix: ['--no-pager'] }, { stdout: 'dnsmasq: DHCP, IP range 192.168.200.101 -- 192.168.200.200\n' });
    const saved = process.env.CLUSTER_LAB_DAEMON_LOGS;
    process.env.CLUSTER_LAB_DAEMON_LOGS = 'journal';
    try {
      const handle = await startDaemon(runner, {
        name: 'dnsmasq',
        file: '/usr/sbin/dnsmasq',
        args: ['--keep-in-foreground'],
        pidFile: join(dir, 'fake-dnsmasq.pid'),
        logFile: join(dir, 'fake-dnsmasq.log'),
        logName: 'dnsmasq',
        ready: async (output) => (await output()).includes('DHCP, IP range'),
      });
      expect(handle.log).toMatchObject({ mode: 'journal', identifier: 'cluster-lab-dnsmasq' });
      expect(runner.commands('spawn')).toEqual(['systemd-cat --identifier=cluster-lab-dnsmasq -- /usr/sbin/dnsmasq --keep-in-foreground']);
      expect(runner.commands('run')[0]).toMatch(/^journalctl .* --identifier=cluster-lab-dnsmasq _PID=\d+ --output=cat$/);
    } finally {
      if (saved === undefined) delete process.env.CLUSTER_LAB_DAEMON_LOGS;
      else process.env.CLUSTER_LAB_DAEMON_LOGS = saved;
      await rm(join(dir, 'fake-dnsmasq.pid'), { force: true });
    }
  });

  it('for real here (no journald): files, and a kept log is rotated when it has grown too big', async () => {
    const logFile = join(dir, 'real.log');
    const pidFile = join(dir, 'real.pid');
    await writeFile(logFile, 'x'.repeat(64));
    expect(await rotateLog(logFile, 100)).toBe(false);
    const big = 'x'.repeat(DAEMON_LOG_MAX_BYTES + 1);
    await writeFile(logFile, big);
    const handle = await startDaemon(new ExecaRunner(), {
      name: 'echo',
      file: process.execPath,
      args: ['-e', 'console.log("ready now"); setInterval(() => {}, 1000)'],
      pidFile,
      logFile,
      logName: 'echo',
      ready: async (output) => (await output()).includes('ready now'),
    });
    try {
      expect(handle.log?.mode).toBe('file');
      expect(await readFile(logFile, 'utf8')).toBe('ready now\n');
      expect(await readFile(`${logFile}.1`, 'utf8')).toBe(big);
    } finally {
      await stopDaemon(pidFile);
    }
  });
});
