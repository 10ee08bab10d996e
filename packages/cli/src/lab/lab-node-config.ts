import { join } from 'node:path';

/** Options for {@link labNodeConfig}. */
export interface LabNodeConfigOptions {
  nodeName: string;
  nodeDir: string;
  backend: 'vxlan' | 'native';
  dockerSocket: string;
  /** The lab's cluster secret file (`lab.secretFile`): the same for every node of the lab. */
  secretFile: string;
  /** Consul executable to run: the real `consul` setup found (the test double only with `lab up --fake-consul`). */
  consulBinary: string;
}

/**
 * The config file a lab node's `cluster-lab start` gets: exactly what a user would write for a
 * machine whose uplink is `eth0` (vxlan backend) or whose dedicated cluster NIC is `eth1`
 * (native backend). No lab-only switches: only paths differ (state dir, secret, Docker socket, Consul).
 */
export function labNodeConfig(o: LabNodeConfigOptions): Record<string, unknown> {
  return {
    interface: o.backend === 'native' ? 'eth1' : 'eth0',
    network: { backend: o.backend },
    hostname: o.nodeName,
    role: 'auto',
    stateDir: join(o.nodeDir, 'cluster-lab'),
    secretFile: o.secretFile,
    docker: { socket: o.dockerSocket },
    consul: { runtime: 'binary', binary: o.consulBinary },
  };
}
