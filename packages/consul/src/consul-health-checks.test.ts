import { runChecks } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulClient } from './api/consul-client.js';
import { consulHealthChecks } from './consul-health-checks.js';
import type { ConsulRuntime } from './runtime/consul-runtime.js';
import { FakeConsul } from './testing/index.js';

let fake: FakeConsul;
let client: ConsulClient;
const runtime = (running: boolean) =>
  ({
    status: async () => ({ running, detail: running ? 'consul agent running (pid 42)' : 'consul agent not running' }),
  }) as unknown as ConsulRuntime;

beforeEach(async () => {
  fake = new FakeConsul({ nodeName: 'pi1', address: '192.168.200.1' });
  client = new ConsulClient({ address: `127.0.0.1:${(await fake.listen()).port}`, timeoutMs: 1000 });
});
afterEach(async () => {
  client.close();
  await fake.close();
});

describe('consulHealthChecks', () => {
  it('passes on a healthy single-node cluster', async () => {
    const report = await runChecks(
      consulHealthChecks({ client, runtime: runtime(true), leaderAddress: '192.168.200.1', expectedMembers: 1 }),
    );
    expect(report.checks.map((c) => [c.id, c.status, c.detail])).toEqual([
      ['consul-agent-running', 'PASS', 'consul agent running (pid 42)'],
      ['consul-leader', 'PASS', 'leader 192.168.200.1:8300, this agent Consul 1.20.0, pi1 (server), serfHealth passing'],
      ['consul-members', 'PASS', '1/1 alive'],
    ]);
  });

  it('fails without a leader or agent, warns on missing and failed members', async () => {
    fake.state.leader = undefined;
    fake.state.upsertMember({ name: 'pi2', address: '192.168.200.101', server: false, datacenter: 'dc1', nodeId: 'x' }, '1.20.0');
    fake.state.setMemberStatus('pi2', 'failed');
    const report = await runChecks(consulHealthChecks({ client, runtime: runtime(false), expectedMembers: 3 }));
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => [c.status, c.detail])).toEqual([
      ['FAIL', 'consul agent not running'],
      ['FAIL', `no Raft leader (agent pi1 at ${client.address})`],
      ['WARN', '1/2 alive; failed: pi2 (expected 3)'],
    ]);
  });

  it('an unreachable agent FAILs with the connection error', async () => {
    const dead = new ConsulClient({ address: '127.0.0.1:1', timeoutMs: 200 });
    const report = await runChecks(consulHealthChecks({ client: dead }));
    expect(report.checks[0]?.status).toBe('FAIL');
    expect(report.checks[0]?.detail).toMatch(/^cannot reach Consul at 127\.0\.0\.1:1 \(agent\.self\)/);
    dead.close();
  });
});
