import { ClusterLabError, interfaceNameProblem } from '@cluster-lab/core';
import { DhcpErrorCode } from './dhcp-errors.js';

/**
 * Throws a `ClusterLabError` (`DHCP_INVALID_LINK`) when `link`/`uplink` cannot be served:
 * invalid names, loopback, or the cluster link being the uplink itself (that would hand out
 * addresses on the home network — the original's router-killing bug).
 */
export function assertServableLinks(link: string, uplink?: string): void {
  const bad = (message: string, hint: string) => new ClusterLabError(DhcpErrorCode.invalidLink, message, { hint, errorClass: 'config' });
  const linkProblem = interfaceNameProblem(link);
  if (linkProblem) throw bad(`DHCP link name "${link}" ${linkProblem}`, 'pass the cluster link, e.g. eth0.200 or vx200');
  if (link === 'lo') throw bad('DHCP link "lo" is the loopback interface', 'pass the cluster link, e.g. eth0.200 or vx200');
  if (uplink !== undefined) {
    const uplinkProblem = interfaceNameProblem(uplink);
    if (uplinkProblem) throw bad(`uplink name "${uplink}" ${uplinkProblem}`, 'pass the uplink NIC, e.g. eth0');
    if (uplink === link) {
      throw bad(
        `DHCP link "${link}" is the uplink itself; serving DHCP there would leak onto the home network`,
        'serve on the cluster link (the VLAN/VXLAN/dedicated NIC), never on the uplink',
      );
    }
  }
}
