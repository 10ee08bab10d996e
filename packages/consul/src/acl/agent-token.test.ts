import { AGENT_POLICY_NAME } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsulClient } from '../api/consul-client.js';
import { FakeConsul } from '../testing/fake-consul.js';
import { AGENT_POLICY_RULES, ensureAgentToken } from './agent-token.js';

const MANAGEMENT = '11111111-1111-4111-8111-111111111111';
const AGENT = '22222222-2222-4222-8222-222222222222';

describe('ensureAgentToken (fake Consul)', () => {
  let fake: FakeConsul;
  let address: string;
  beforeEach(async () => {
    fake = new FakeConsul({ nodeName: 'pi1', aclToken: MANAGEMENT });
    address = `127.0.0.1:${(await fake.listen()).port}`;
  });
  afterEach(() => fake.close());

  it('creates the cluster-lab-agent policy and the token once; a second call changes nothing', async () => {
    const client = new ConsulClient({ address, token: MANAGEMENT });
    const agent = new ConsulClient({ address, token: AGENT });
    try {
      await expect(agent.kv.get('cluster-lab/x')).rejects.toMatchObject({ code: 'CONSUL_PERMISSION_DENIED' });
      expect(await ensureAgentToken(client, { nodeName: 'pi1', datacenter: 'dc1', agentToken: AGENT })).toEqual({ created: true });
      expect([...fake.state.aclPolicies.values()].map((p) => [p.Name, p.Rules])).toEqual([[AGENT_POLICY_NAME, AGENT_POLICY_RULES]]);
      expect([...fake.state.aclTokens.keys()]).toEqual([AGENT]);
      expect(await agent.kv.get('cluster-lab/x')).toBeUndefined();
      expect(await ensureAgentToken(client, { nodeName: 'pi1', datacenter: 'dc1', agentToken: AGENT })).toEqual({ created: false });
      expect(fake.state.aclPolicies.size).toBe(1);
    } finally {
      client.close();
      agent.close();
    }
  });

  it('a second node reuses the policy and gets its own token', async () => {
    const client = new ConsulClient({ address, token: MANAGEMENT });
    try {
      await ensureAgentToken(client, { nodeName: 'pi1', datacenter: 'dc1', agentToken: AGENT });
      const other = '33333333-3333-4333-8333-333333333333';
      expect(await ensureAgentToken(client, { nodeName: 'pi2', datacenter: 'dc1', agentToken: other })).toEqual({ created: true });
      expect(fake.state.aclPolicies.size).toBe(1);
      expect(fake.state.aclTokens.size).toBe(2);
    } finally {
      client.close();
    }
  });

  it('a management token the cluster does not know fails with CONSUL_ACL_NOT_READY and the fix, after the timeout', async () => {
    const client = new ConsulClient({ address, token: 'not-the-cluster-token' });
    try {
      const error = await ensureAgentToken(client, { nodeName: 'pi1', datacenter: 'dc1', agentToken: AGENT, timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'CONSUL_ACL_NOT_READY', hint: expect.stringContaining('cluster-lab secret fingerprint') });
      expect((error as Error).message).not.toContain(AGENT);
      expect((error as Error).message).not.toContain('not-the-cluster-token');
    } finally {
      client.close();
    }
  });
});
