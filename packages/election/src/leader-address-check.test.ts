import { InMemoryNetwork } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.js';
import { FakeSegment } from './fake-segment.js';
import { leaderAddressCheck } from './leader-address-check.js';

const LEADER = '192.168.200.1';
const mac = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

describe('leaderAddressCheck', () => {
  function setup() {
    const clock = new VirtualClock();
    const segment = new FakeSegment({ clock });
    const nets = [1, 2, 3].map((n) => new InMemoryNetwork().withLink('eth0', { mac: mac(n) }));
    const nodes = nets.map((network, i) => segment.attach({ mac: mac(i + 1), link: 'eth0', network }));
    const check = (i: number) =>
      leaderAddressCheck({ link: 'eth0', mac: mac(i + 1), leaderAddress: LEADER, network: nets[i]!, prober: nodes[i]!.prober });
    return { clock, nets, check };
  }

  it('passes with one holder, seen from the holder and from a follower', async () => {
    const { clock, nets, check } = setup();
    await nets[0]!.addAddress('eth0', `${LEADER}/24`);
    const signal = new AbortController().signal;
    expect(await clock.run(check(0).run(signal))).toEqual({ status: 'PASS', detail: `held by this node (${mac(1)})` });
    expect(await clock.run(check(1).run(signal))).toEqual({ status: 'PASS', detail: `held by ${mac(1)}` });
    expect(check(0)).toMatchObject({ id: 'leader-address', title: `one holder of the leader address ${LEADER}` });
  });

  it('fails with no holder and with two holders, each with a hint', async () => {
    const { clock, nets, check } = setup();
    const signal = new AbortController().signal;
    expect(await clock.run(check(2).run(signal))).toMatchObject({
      status: 'FAIL',
      detail: `nobody answers for ${LEADER} on eth0: there is no leader`,
    });
    await nets[0]!.addAddress('eth0', `${LEADER}/24`);
    await nets[1]!.addAddress('eth0', `${LEADER}/24`);
    const result = await clock.run(check(2).run(signal));
    expect(result).toMatchObject({ status: 'FAIL', detail: `${LEADER} is held by 2 hosts (${mac(1)}, ${mac(2)}): split brain` });
    expect(result.hint).toMatch(/watchLeadership/);
  });
});
