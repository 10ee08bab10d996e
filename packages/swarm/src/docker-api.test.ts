import { describe, expect, it } from 'vitest';
import { managerAddress, normaliseNode } from './docker-api.js';

describe('normaliseNode', () => {
  it('fills what Docker omits for a node that is still registering (seen with dockerd 20.10)', () => {
    expect(
      normaliseNode({
        ID: 'abc',
        Version: { Index: 7 },
        Spec: { Role: 'worker', Availability: 'active' },
        Status: { State: 'unknown' },
      } as never),
    ).toEqual({
      ID: 'abc',
      Version: { Index: 7 },
      Spec: { Role: 'worker', Availability: 'active', Labels: {} },
      Description: { Hostname: '' },
      Status: { State: 'unknown' },
    });
  });
  it('keeps a complete node as it is', () => {
    const node = {
      ID: 'x',
      Version: { Index: 1 },
      Spec: { Role: 'manager' as const, Availability: 'drain' as const, Labels: { a: 'b' } },
      Description: { Hostname: 'node1', Platform: { Architecture: 'aarch64', OS: 'linux' } },
      Status: { State: 'ready' as const, Addr: '192.168.200.1' },
      ManagerStatus: { Leader: true, Reachability: 'reachable' as const, Addr: '192.168.200.1:2377' },
    };
    expect(normaliseNode(node)).toEqual(node);
  });
});

describe('managerAddress', () => {
  it('adds the swarm port unless one is given', () => {
    expect(managerAddress('192.168.200.1')).toBe('192.168.200.1:2377');
    expect(managerAddress('192.168.200.1:4000')).toBe('192.168.200.1:4000');
  });
});
