import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type CheckResult, FakeRunner, InMemoryNetwork, parseConfig, writePidFile } from '@cluster-lab/core';
import { clientPaths, leaseToJson, toLease } from '@cluster-lab/dhcp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFacts } from '../node-facts.js';
import { nodeChecks } from './node-checks.js';

const LINK = 'vx200';

describe('health: the follower DHCP lease check', () => {
  let stateDir: string;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cl-node-checks-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  async function runLeaseCheck(renewedIp: string | undefined, renewedServer = '192.168.200.1'): Promise<CheckResult> {
    const config = parseConfig({ stateDir, network: { backend: 'vxlan' } });
    const paths = clientPaths(stateDir, LINK);
    const lease = toLease(
      { ip: '192.168.200.150', mask: '24', serverId: '192.168.200.1', leaseSeconds: '3600' },
      '02:00:00:00:00:01',
      new Date(),
      'udhcpc',
    );
    await mkdir(dirname(paths.stateFile), { recursive: true });
    await writeFile(
      paths.stateFile,
      JSON.stringify({ kind: 'udhcpc', link: LINK, lease: leaseToJson(lease), cidr: '192.168.200.150/24', added: true }),
    );
    // A live process stands in for the renewal client.
    await writePidFile(paths.renewalPidFile, process.pid);
    if (renewedIp) {
      await mkdir(dirname(paths.renewalEventsFile), { recursive: true });
      const bound = {
        event: 'bound',
        at: Math.floor(Date.now() / 1000),
        env: { ip: renewedIp, mask: '24', serverid: renewedServer, lease: '3600' },
      };
      await writeFile(paths.renewalEventsFile, `${JSON.stringify(bound)}\n`);
    }
    const checks = nodeChecks({
      node: nodeFacts(config, { runner: new FakeRunner(), network: new InMemoryNetwork() }),
      journal: { status: 'running', facts: { role: 'follower', link: LINK, address: '192.168.200.150' } },
    });
    const check = checks.find((c) => c.id === 'dhcp-lease');
    if (!check) throw new Error('no dhcp-lease check');
    return check.run(new AbortController().signal);
  }

  it('passes while the renewal client keeps the applied address', async () => {
    expect(await runLeaseCheck('192.168.200.150')).toMatchObject({ status: 'PASS' });
    expect(await runLeaseCheck(undefined)).toMatchObject({ status: 'PASS' });
  });

  it('warns, naming the rogue server and the reason, when a lease from another DHCP server was refused', async () => {
    const result = await runLeaseCheck('192.168.200.160', '192.168.200.66');
    expect(result).toMatchObject({ status: 'WARN' });
    expect(result.detail).toContain('refused 1 DHCP lease(s) on vx200 from 192.168.200.66 (1): server-not-leader ×1');
    expect(result.hint).toContain('find the host at 192.168.200.66');
  });

  it('warns, naming both addresses and how to re-form, when the leader leased another address', async () => {
    const result = await runLeaseCheck('192.168.200.160');
    expect(result).toMatchObject({ status: 'WARN' });
    expect(result.detail).toContain('192.168.200.160');
    expect(result.detail).toContain('192.168.200.150/24');
    expect(result.hint).toContain('cluster-lab stop');
  });
});
