import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deriveClusterKeys,
  FakeRunner,
  generateSecret,
  InMemoryNetwork,
  Journal,
  type ProgressEvent,
  parseConfig,
} from '@cluster-lab/core';
import type { ElectionResult } from '@cluster-lab/election';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOURNAL_KINDS } from '../boot/journal-kinds.js';
import { nodeFacts } from '../node-facts.js';
import type { LeaderDutyEntry } from '../services/leader-duties.js';
import { serverConfigFrom } from './consul-promotion.js';
import { electionSecurity } from './election-security.js';
import { FAILOVER_STEP, leaderDuties } from './node-leadership.js';
import { readSupervisorStatus, writeSupervisorStatus } from './supervisor-status.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-super-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function node() {
  // Consul off: the duties run without a cluster store (no agent in a unit test).
  const config = parseConfig({ stateDir: dir, hostname: 'node2', consul: { enabled: false } });
  return nodeFacts(config, { runner: new FakeRunner(), network: new InMemoryNetwork() });
}

const won = { role: 'leader', claimed: true } as ElectionResult;

describe('leaderDuties (failover through the journal)', () => {
  it('journals what takeLeaderDuties did under the failover step, and release undoes and forgets exactly that', async () => {
    const n = node();
    const journal = await Journal.open(n.paths.journal);
    await journal.record({ kind: JOURNAL_KINDS.dhcpLease, key: 'vx200', step: 'dhcp-lease', data: {} });
    await journal.setStatus('running');
    const released: LeaderDutyEntry[][] = [];
    const events: ProgressEvent[] = [];
    const duties = leaderDuties(
      n,
      {
        link: { name: 'vx200', mac: '02:00:00:00:00:02' },
        membership: () => ({ nodeAddress: '192.168.200.102' }),
        onEvent: (e) => events.push(e),
      },
      {
        takeLeaderDuties: async (_node, options) => {
          expect(options).toMatchObject({ link: { name: 'vx200' }, election: { claimed: true }, nodeAddress: '192.168.200.102' });
          const entries: LeaderDutyEntry[] = [
            { kind: JOURNAL_KINDS.leaderAddress, key: n.leaderCidr, data: { link: 'vx200', cidr: n.leaderCidr } },
            { kind: JOURNAL_KINDS.dhcpServer, key: '/run/dnsmasq.pid', data: { pidFile: '/run/dnsmasq.pid', link: 'vx200' } },
          ];
          for (const e of entries) await options.record?.(e);
          return { entries };
        },
        releaseLeaderDuties: async (_node, entries) => {
          released.push([...entries]);
        },
      },
    );
    await duties.take(won);
    let after = await Journal.open(n.paths.journal);
    expect(after.entries.map((e) => `${e.kind}/${e.step}`)).toEqual([
      'dhcp-lease/dhcp-lease',
      `leader-address/${FAILOVER_STEP}`,
      `dhcp-server/${FAILOVER_STEP}`,
    ]);
    expect(after.facts.role).toBe('leader');
    await duties.release({ reason: 'duplicate', yieldTo: ['02:00:00:00:00:01'], message: 'yield' });
    expect(released[0]?.map((e) => e.kind)).toEqual(['leader-address', 'dhcp-server']);
    after = await Journal.open(n.paths.journal);
    expect(after.entries.map((e) => e.kind)).toEqual(['dhcp-lease']);
    expect(after.facts.role).toBe('follower');
  });

  it('leaves everything to stop while the journal is stopping, and refuses to take duties then', async () => {
    const n = node();
    const journal = await Journal.open(n.paths.journal);
    await journal.record({ kind: JOURNAL_KINDS.leaderAddress, key: n.leaderCidr, step: 'election', data: {} });
    await journal.setStatus('stopping');
    let called = false;
    const duties = leaderDuties(
      n,
      { link: { name: 'vx200', mac: '02:00:00:00:00:02' }, membership: () => ({}), onEvent: () => {} },
      {
        takeLeaderDuties: async () => {
          called = true;
          return { entries: [] };
        },
        releaseLeaderDuties: async () => {
          called = true;
        },
      },
    );
    await duties.release({ reason: 'address-removed', yieldTo: [], message: 'gone' });
    await expect(duties.take(won)).rejects.toThrow('the node is not running');
    expect(called).toBe(false);
    expect((await Journal.open(n.paths.journal)).entries).toHaveLength(1);
  });
});

describe('serverConfigFrom', () => {
  it('turns a client config into a joining server: no bootstrap, retry_join the live servers, every other key kept', () => {
    const client = { server: false, bind_addr: '192.168.200.104', encrypt: 'k', retry_join: ['192.168.200.1'], bootstrap_expect: 1 };
    expect(JSON.parse(serverConfigFrom(JSON.stringify(client), ['192.168.200.101', '192.168.200.102']))).toEqual({
      server: true,
      bind_addr: '192.168.200.104',
      encrypt: 'k',
      retry_join: ['192.168.200.101', '192.168.200.102'],
    });
  });
});

describe('electionSecurity', () => {
  const at = (security: 'open' | 'secret', secretFile: string, keys?: ReturnType<typeof deriveClusterKeys>) =>
    ({ config: { security, secretFile }, keys }) as unknown as Parameters<typeof electionSecurity>[0];
  it('open: unsigned; secret: the election key from the secret file; a missing file says how to fix it', async () => {
    expect(await electionSecurity(at('open', '/nonexistent'))).toEqual({ mode: 'open' });
    const file = join(dir, 'secret');
    await writeFile(file, `${generateSecret().toText()}\n`, { mode: 0o600 });
    const security = await electionSecurity(at('secret', file));
    expect(security.mode).toBe('secret');
    await expect(electionSecurity(at('secret', join(dir, 'none')))).rejects.toMatchObject({
      code: 'SECRET_FILE_INVALID',
      hint: expect.stringContaining('cluster-lab secret generate'),
    });
  });

  it('uses the keys loadNodeFacts read instead of reading the file again', async () => {
    const keys = deriveClusterKeys(generateSecret());
    expect(await electionSecurity(at('secret', join(dir, 'none'), keys))).toEqual({ mode: 'secret', key: keys.electionKey });
  });
});

describe('supervisor status file', () => {
  it('round-trips, and reads as undefined when absent', async () => {
    const n = node();
    expect(await readSupervisorStatus(n)).toBeUndefined();
    await mkdir(n.paths.supervisor.dir, { recursive: true });
    await writeSupervisorStatus(n, { updatedAt: 5, pid: 1, promotion: { at: 1, ok: true, detail: 'd' } });
    expect(await readSupervisorStatus(n)).toEqual({ updatedAt: 5, pid: 1, promotion: { at: 1, ok: true, detail: 'd' } });
  });
});
