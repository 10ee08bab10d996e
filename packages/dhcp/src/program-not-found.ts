import { ClusterLabError } from '@cluster-lab/core';
import { DhcpErrorCode } from './dhcp-errors.js';

/** Debian package providing each program. */
const DEBIAN_PACKAGE: Record<string, string> = {
  dnsmasq: 'dnsmasq-base',
  udhcpc: 'udhcpc',
  dhclient: 'isc-dhcp-client',
  dhcpcd: 'dhcpcd-base',
};

/**
 * A `dependency` `ClusterLabError` (`DHCP_PROGRAM_NOT_FOUND`) for a missing server or
 * client program, with the Debian package to install as hint.
 */
export function programNotFound(program: string, tried?: string, message?: string): ClusterLabError {
  const text = message ?? `${program} is not installed${tried && tried !== program ? ` (tried ${tried})` : ''}`;
  const pkg = DEBIAN_PACKAGE[program] ?? program;
  const alternative = program === 'dnsmasq' ? '' : ', or set dhcp.client to one that is installed';
  return new ClusterLabError(DhcpErrorCode.programNotFound, text, {
    hint: `install it (Debian: apt-get install ${pkg})${alternative}`,
    errorClass: 'dependency',
  });
}
