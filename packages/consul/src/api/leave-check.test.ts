import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeConsul } from '../testing/index.js';
import { ConsulClient } from './consul-client.js';
import { consulLeaveDone } from './leave-check.js';

let fake: FakeConsul;
let client: ConsulClient;

beforeEach(async () => {
  // node2 is the agent that leaves; node1 and node3 are the other servers of its cluster.
  fake = new FakeConsul({ nodeName: 'node2', datacenter: 'lab', address: '10.0.0.2' });
  fake.state.upsertMember({ name: 'node1', address: '10.0.0.1', server: true, datacenter: 'lab', nodeId: 'n1' }, '1.8.7');
  fake.state.upsertMember({ name: 'node3', address: '10.0.0.3', server: true, datacenter: 'lab', nodeId: 'n3' }, '1.8.7');
  fake.state.peers.add('10.0.0.1:8300');
  fake.state.peers.add('10.0.0.3:8300');
  const { port } = await fake.listen();
  client = new ConsulClient({ address: `127.0.0.1:${port}`, timeoutMs: 2000 });
});
afterEach(async () => {
  client.close();
  await fake.close();
});

describe('consulLeaveDone: has the leave done what the cluster needs?', () => {
  it('not while the agent has not left the gossip pool', async () => {
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: true })).toBe(false);
    fake.state.setMemberStatus('node2', 'leaving');
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: false })).toBe(false);
  });

  it('a client: as soon as it sees itself left', async () => {
    fake.state.setMemberStatus('node2', 'left');
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: false })).toBe(true);
  });

  it('a server with other servers alive: only once it is out of the Raft peer set', async () => {
    fake.state.setMemberStatus('node2', 'left');
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: true })).toBe(false);
    fake.state.peers.delete('10.0.0.2:8300');
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: true })).toBe(true);
  });

  it('a server whose fellow servers are all leaving too: no removal to wait for', async () => {
    fake.state.setMemberStatus('node2', 'left');
    fake.state.setMemberStatus('node1', 'leaving');
    fake.state.setMemberStatus('node3', 'left');
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: true })).toBe(true);
  });

  it('an agent that is gone (its API does not answer) makes it throw, which stop reads as "not yet"', async () => {
    const dead = new ConsulClient({ address: '127.0.0.1:1', timeoutMs: 200 });
    await expect(consulLeaveDone(dead, { nodeName: 'node2', server: true })).rejects.toBeDefined();
    dead.close();
  });

  it("a server asks the Raft leader's view (a removed follower may never hear of its removal)", async () => {
    fake.state.setMemberStatus('node2', 'left');
    fake.state.leader = '10.0.0.1:8300';
    const asked: string[] = [];
    let leaderPeers = ['10.0.0.1:8300', '10.0.0.2:8300', '10.0.0.3:8300'];
    const peersOf = async (host: string) => {
      asked.push(host);
      return leaderPeers;
    };
    fake.state.peers.delete('10.0.0.2:8300'); // its own view already says "removed": not trusted
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: true }, { peersOf })).toBe(false);
    leaderPeers = ['10.0.0.1:8300', '10.0.0.3:8300'];
    expect(await consulLeaveDone(client, { nodeName: 'node2', server: true }, { peersOf })).toBe(true);
    expect(asked).toEqual(['10.0.0.1', '10.0.0.1']);
    // Itself the leader a moment ago (it removed itself): another remaining server is asked.
    fake.state.leader = '10.0.0.2:8300';
    await consulLeaveDone(client, { nodeName: 'node2', server: true }, { peersOf });
    expect(asked.at(-1)).toBe('10.0.0.1');
  });
});
