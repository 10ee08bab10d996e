import { ClusterLabError } from '@cluster-lab/core';
import { DhcpErrorCode } from '../dhcp-errors.js';

/** A `dependency` {@link ClusterLabError} for a missing client/server program. */
export function programNotFound(program: string, tried?: string): ClusterLabError {
  return new ClusterLabError(
    DhcpErrorCode.programNotFound,
    `${program} is not installed${tried && tried !== program ? ` (tried ${tried})` : ''}`,
    {
      hint: `install it (Debian: ${program === 'dnsmasq' ? 'apt-get install dnsmasq-base' : program === 'dhclient' ? 'apt-get install isc-dhcp-client' : program === 'dhcpcd' ? 'apt-get install dhcpcd-base' : 'apt-get install udhcpc'}), or set dhcp.client to one that is installed`,
      errorClass: 'dependency',
    },
  );
}
