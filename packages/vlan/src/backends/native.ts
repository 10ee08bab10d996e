import type { Network } from '@cluster-lab/core';
import { BackendError } from './backend-error.js';
import { describeLink, finish } from './inspect-link.js';
import {
  availableInterfaces,
  type BackendDeps,
  type BackendDescription,
  type EnsureResult,
  type NetworkBackend,
  readClusterLink,
  type TeardownState,
  undoBringUp,
} from './network-backend.js';
import { validateInterfaceName, validateMtu } from './validate-backend-input.js';

/** Settings of a {@link NativeBackend}. */
export interface NativeBackendOptions {
  /** The NIC that is the cluster link: a dedicated NIC or one on an untagged switch port. */
  nic: string;
  /** MTU the configuration expects; only checked by describe(), never set (the NIC is used as-is). */
  mtu?: number;
}

/**
 * The `native` backend: an existing NIC is the cluster link as-is — for a dedicated cluster NIC,
 * an untagged switch port, switches that filter VLAN tags, and the namespace lab.
 *
 * It creates and deletes nothing and never touches the NIC's addresses, routes or MTU; it only
 * sets the NIC up when it is down, and {@link teardown} sets it down again only in that case.
 *
 * @example
 * ```ts
 * const backend = new NativeBackend({ nic: 'eth1' }, { network, runner });
 * const { link, broughtUp } = await backend.ensure(); // link.name === 'eth1'
 * ```
 */
export class NativeBackend implements NetworkBackend {
  readonly kind = 'native' as const;
  readonly linkName: string;
  readonly uplink: string;
  readonly mtu: number | undefined;
  private readonly network: Network;
  private last: TeardownState | undefined;

  constructor(options: NativeBackendOptions, deps: BackendDeps) {
    this.linkName = validateInterfaceName(options.nic, 'cluster NIC');
    if (this.linkName === 'lo') {
      throw new BackendError('INVALID_INTERFACE_NAME', 'cluster NIC "lo" is the loopback interface', {
        hint: 'set `interface` to the NIC connected to the cluster switch, e.g. eth1',
        errorClass: 'config',
      });
    }
    this.uplink = this.linkName;
    this.mtu = options.mtu === undefined ? undefined : validateMtu(options.mtu);
    this.network = deps.network;
  }

  async ensure(): Promise<EnsureResult> {
    let link = await this.network.getLink(this.linkName);
    if (!link) {
      const available = await availableInterfaces(this.network);
      throw new BackendError(
        'CLUSTER_NIC_NOT_FOUND',
        `cluster NIC "${this.linkName}" does not exist${this.network.netns ? ` in namespace ${this.network.netns}` : ''}; available: ${available.join(', ') || '(none)'}`,
        {
          hint: available.length
            ? `set \`interface\` to one of: ${available.join(', ')}`
            : 'plug in the cluster NIC or check `ip link show`',
          errorClass: 'config',
        },
      );
    }
    let broughtUp = false;
    if (!link.up) {
      await this.network.setUp(this.linkName);
      broughtUp = true;
      link = await this.network.requireLink(this.linkName);
    }
    this.last = { created: false, broughtUp: Boolean(this.last?.broughtUp) || broughtUp };
    return { link: await readClusterLink(this.network, link), created: false, broughtUp };
  }

  async teardown(previous?: TeardownState): Promise<boolean> {
    const state = previous ?? this.last;
    this.last = undefined;
    // `created` is never true for a NIC we only use; it is ignored so a wrong journal can never delete a NIC.
    return undoBringUp(this.network, this.linkName, Boolean(state?.broughtUp));
  }

  async describe(): Promise<BackendDescription> {
    const link = await this.network.getLink(this.linkName);
    const d = await describeLink(
      this.network,
      {
        kind: 'native',
        name: this.linkName,
        uplink: this.uplink,
        expectedMtu: this.mtu,
        missingHint: `set \`interface\` to an existing NIC (one of: ${(await availableInterfaces(this.network)).join(', ') || 'none'})`,
      },
      link,
      [],
    );
    d.kindMatches = Boolean(link);
    return finish(d);
  }
}
