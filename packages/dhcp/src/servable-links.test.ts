import { describe, expect, it } from 'vitest';
import { DhcpErrorCode } from './dhcp-errors.js';
import { assertServableLinks } from './servable-links.js';

describe('assertServableLinks', () => {
  it('refuses the uplink, loopback, or a bad link name', () => {
    expect(() => assertServableLinks('eth0', 'eth0')).toThrow(
      expect.objectContaining({
        code: DhcpErrorCode.invalidLink,
        message: 'DHCP link "eth0" is the uplink itself; serving DHCP there would leak onto the home network',
      }),
    );
    expect(() => assertServableLinks('lo')).toThrow('DHCP link "lo" is the loopback interface');
    expect(() => assertServableLinks('a-very-long-interface')).toThrow(
      'DHCP link name "a-very-long-interface" is 21 characters long; Linux allows at most 15',
    );
    expect(() => assertServableLinks('eth1', 'eth 0')).toThrow(/uplink name "eth 0" may only contain/);
  });

  it('accepts a cluster link beside the uplink', () => {
    expect(() => assertServableLinks('eth0.200', 'eth0')).not.toThrow();
  });
});
