import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeCall, FakeRunner } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DhcpErrorCode } from '../dhcp-errors.js';
import { hookEventsFile } from '../hook-script.js';
import { DHCP_PROBE_TIMEOUT_MS, probeForDhcpServer } from './rogue-probe.js';

function reporting(events: { event: string; env: Record<string, string> }[], exitCode = 0) {
  return async (call: FakeCall) => {
    const file = hookEventsFile(call.args[call.args.indexOf('-s') + 1] as string);
    for (const e of events) await appendFile(file, `${JSON.stringify({ ...e, at: 1795621891 })}\n`);
    return { exitCode };
  };
}

describe('probeForDhcpServer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-dhcp-probe-unit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs udhcpc in probe mode (release on exit, nothing applied) and names the answering server', async () => {
    const runner = new FakeRunner().on(
      '/usr/sbin/udhcpc',
      () => true,
      reporting([
        { event: 'deconfig', env: {} },
        { event: 'bound', env: { ip: '192.168.200.150', serverid: '192.168.200.77', mask: '24' } },
        { event: 'deconfig', env: {} },
      ]),
    );
    const answer = await probeForDhcpServer({ runner, link: 'eth1', workDir: dir, executable: '/usr/sbin/udhcpc' });
    expect(answer).toEqual({ serverId: '192.168.200.77', offeredIp: '192.168.200.150' });
    expect(DHCP_PROBE_TIMEOUT_MS).toBe(1500);
    expect(runner.commands()).toEqual([`/usr/sbin/udhcpc -f -q -n -R -i eth1 -s ${join(dir, 'probe', 'hook.sh')} -t 2 -T 1`]);
    expect(runner.calls[0]?.options).toMatchObject({ reject: false, timeoutMs: 1500 });
  });

  it('returns undefined when nobody answers', async () => {
    const runner = new FakeRunner().on(
      'udhcpc',
      () => true,
      reporting(
        [
          { event: 'deconfig', env: {} },
          { event: 'leasefail', env: {} },
        ],
        1,
      ),
    );
    expect(await probeForDhcpServer({ runner, link: 'eth1', timeoutMs: 1000, executable: 'udhcpc' })).toBeUndefined();
    expect(runner.calls[0]?.args).toContain('1');
  });

  it('counts a NAK as an answer', async () => {
    const runner = new FakeRunner().on(
      'udhcpc',
      () => true,
      reporting([{ event: 'nak', env: { serverid: '10.0.0.1', message: 'wrong network' } }], 1),
    );
    expect(await probeForDhcpServer({ runner, link: 'eth1', workDir: dir, executable: 'udhcpc' })).toEqual({ serverId: '10.0.0.1' });
  });

  it('reports a missing udhcpc as a dependency error', async () => {
    const runner = new FakeRunner().on('udhcpc', () => true, { notFound: true });
    await expect(probeForDhcpServer({ runner, link: 'eth1', workDir: dir, executable: 'udhcpc' })).rejects.toMatchObject({
      code: DhcpErrorCode.programNotFound,
    });
  });
});
