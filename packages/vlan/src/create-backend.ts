import type { ClusterConfig } from '@cluster-lab/core';
import { BackendError } from './backends/backend-error.js';
import { NativeBackend } from './backends/native.js';
import type { BackendDeps, NetworkBackend } from './backends/network-backend.js';
import { VlanBackend } from './backends/vlan.js';
import { VxlanBackend } from './backends/vxlan.js';

/** Options of {@link createBackend}: the node's network and runner, plus overrides of config fields. */
export interface CreateBackendOptions extends BackendDeps {
  /**
   * vlan backend only: name of the VLAN link, overriding `network.vlanName` and the default
   * `<interface>.<vlanId>` — needed when that would be longer than 15 characters (e.g.
   * `enx0123456789ab.200`).
   */
  linkName?: string;
}

/**
 * Chooses and configures the backend named by `config.network.backend`:
 * - `vlan`: `network.vlanName`, default `<config.interface>.<network.vlanId>` (MTU `network.mtu`, else the uplink's);
 * - `native`: `config.interface` is the cluster NIC itself;
 * - `vxlan`: `network.vxlan.{name,vni,port,group,peers}` over `config.interface` (MTU `network.mtu`, else 1450).
 *
 * Invalid settings throw a {@link BackendError} at once, before anything is changed.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ file: '/etc/cluster-lab/config.yaml' });
 * const runner = new ExecaRunner();
 * const backend = createBackend(config, { network: new IpRoute2(runner), runner });
 * const { link, created, broughtUp } = await backend.ensure();
 * ```
 */
export function createBackend(config: ClusterConfig, options: CreateBackendOptions): NetworkBackend {
  const deps: BackendDeps = { network: options.network, runner: options.runner };
  const { network } = config;
  const mtu = network.mtu === undefined ? {} : { mtu: network.mtu };
  switch (network.backend) {
    case 'vlan': {
      const name = options.linkName ?? network.vlanName;
      return new VlanBackend({ uplink: config.interface, id: network.vlanId, ...mtu, ...(name !== undefined ? { name } : {}) }, deps);
    }
    case 'native':
      return new NativeBackend({ nic: config.interface, ...mtu }, deps);
    case 'vxlan': {
      const vx = network.vxlan;
      return new VxlanBackend(
        {
          uplink: config.interface,
          name: vx.name,
          vni: vx.vni,
          port: vx.port,
          peers: vx.peers,
          ...(vx.group === undefined ? {} : { group: vx.group }),
          ...mtu,
        },
        deps,
      );
    }
    default:
      throw new BackendError('UNKNOWN_BACKEND', `network.backend ${JSON.stringify(network.backend)} is not a known backend`, {
        hint: 'use vlan (default), native or vxlan',
        errorClass: 'config',
      });
  }
}
