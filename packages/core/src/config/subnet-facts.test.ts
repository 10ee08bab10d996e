import { describe, expect, it } from 'vitest';
import { leaderCidr, subnetPrefix } from './subnet-facts.js';

describe('subnet facts', () => {
  it('reads the prefix length of the cluster subnet and puts it on the leader address', () => {
    expect(subnetPrefix({ subnet: '192.168.200.0/24' })).toBe(24);
    expect(subnetPrefix({ subnet: '10.42.0.0/16' })).toBe(16);
    expect(leaderCidr({ subnet: '10.42.0.0/16', leaderAddress: '10.42.0.1' })).toBe('10.42.0.1/16');
  });
});
