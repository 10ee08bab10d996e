import { isClusterLabError, type Link, type Network } from '@cluster-lab/core';
import { BackendError } from './backend-error.js';
import { describeLink, finish, inspectUplink } from './inspect-link.js';
import {
  type BackendDeps,
  type BackendDescription,
  type EnsureResult,
  ensureCreatedLink,
  type NetworkBackend,
  problem,
  readClusterLink,
  requireUplink,
  type TeardownState,
  teardownCreatedLink,
  unsupportedLinkKind,
} from './network-backend.js';
import { validateInterfaceName, validateMtu, validateVlanId } from './validate-backend-input.js';

/** Settings of a {@link VlanBackend}. */
export interface VlanBackendOptions {
  /** The NIC carrying the tagged frames, e.g. `eth0`. */
  uplink: string;
  /** 802.1Q VLAN id, 1–4094. */
  id: number;
  /**
   * Name of the sub-interface; default `<uplink>.<id>`. Needed when that default is longer than
   * Linux's 15 characters (e.g. `enx0123456789ab.200`).
   */
  name?: string;
  /** MTU of the VLAN link; default: the kernel's (the uplink's MTU). */
  mtu?: number;
}

/**
 * The `vlan` backend (the default, as in the original): an 802.1Q sub-interface
 * `<uplink>.<id>` such as `eth0.200`, set up with the configured MTU.
 *
 * Equivalent to: `ip link add link eth0 name eth0.200 type vlan protocol 802.1Q id 200 && ip link set dev eth0.200 up`.
 *
 * A kernel without 802.1Q support (no `8021q` module) makes {@link ensure} throw
 * `KERNEL_NO_8021Q` with the fix (`modprobe 8021q`, or another backend) and leaves nothing behind.
 * A link that already has the name but is not this VLAN on this uplink throws `LINK_CONFLICT`.
 *
 * @example
 * ```ts
 * const backend = new VlanBackend({ uplink: 'eth0', id: 200 }, { network: new IpRoute2(runner), runner });
 * const { link, created } = await backend.ensure(); // link.name === 'eth0.200'
 * ```
 */
export class VlanBackend implements NetworkBackend {
  readonly kind = 'vlan' as const;
  readonly linkName: string;
  readonly uplink: string;
  readonly id: number;
  readonly mtu: number | undefined;
  private readonly network: Network;
  private last: TeardownState | undefined;

  constructor(options: VlanBackendOptions, deps: BackendDeps) {
    this.uplink = validateInterfaceName(options.uplink, 'uplink interface');
    this.id = validateVlanId(options.id);
    this.mtu = options.mtu === undefined ? undefined : validateMtu(options.mtu);
    if (options.name === undefined) {
      const derived = `${this.uplink}.${this.id}`;
      if (derived.length > 15) {
        throw new BackendError(
          'VLAN_NAME_TOO_LONG',
          `VLAN link name "${derived}" (uplink "${this.uplink}" + ".${this.id}") is ${derived.length} characters long; Linux allows at most 15`,
          {
            hint: `give the VLAN link a shorter name: network.vlanName: vlan${this.id} in the config (createBackend option \`linkName\`)`,
            errorClass: 'config',
          },
        );
      }
      this.linkName = derived;
    } else {
      this.linkName = validateInterfaceName(options.name, 'VLAN link name');
    }
    if (this.linkName === this.uplink) {
      throw new BackendError('INVALID_INTERFACE_NAME', `VLAN link name "${this.linkName}" is the uplink itself`, {
        hint: `use another name, e.g. "${this.uplink.slice(0, 10)}.${this.id}"`,
        errorClass: 'config',
      });
    }
    this.network = deps.network;
  }

  /** True when `link` is this VLAN (802.1Q, this id, on this uplink). */
  private isOurs(link: Link): boolean {
    return link.kind === 'vlan' && link.vlan?.id === this.id && (link.parent === undefined || link.parent === this.uplink);
  }

  private conflict(link: Link): BackendError {
    const what = link.kind === 'vlan' ? `VLAN ${link.vlan?.id} on ${link.parent ?? '?'}` : `a ${link.kind ?? 'physical'} link`;
    return new BackendError(
      'LINK_CONFLICT',
      `interface "${this.linkName}" already exists as ${what}, not VLAN ${this.id} on ${this.uplink}`,
      {
        hint: `remove it if it is a leftover (\`ip link del dev ${this.linkName}\`) or choose another VLAN link name`,
        errorClass: 'config',
      },
    );
  }

  async ensure(): Promise<EnsureResult> {
    const uplink = await requireUplink(this.network, this.uplink);
    if (this.mtu !== undefined && this.mtu > uplink.mtu) {
      throw new BackendError('MTU_TOO_LARGE', `VLAN MTU ${this.mtu} is larger than the MTU ${uplink.mtu} of uplink "${this.uplink}"`, {
        hint: `set network.mtu to ${uplink.mtu} or less`,
        errorClass: 'config',
      });
    }
    const { link, created, broughtUp } = await ensureCreatedLink(this.network, this.linkName, {
      isOurs: (l) => this.isOurs(l),
      conflict: (l) => this.conflict(l),
      create: () => this.create(),
    });
    this.last = { created: Boolean(this.last?.created) || created, broughtUp: Boolean(this.last?.broughtUp) || broughtUp };
    return { link: await readClusterLink(this.network, link), created, broughtUp };
  }

  /** Adds the link; false when a link of that name appeared meanwhile (`File exists`). */
  private async create(): Promise<boolean> {
    try {
      await this.network.addLink({
        kind: 'vlan',
        name: this.linkName,
        parent: this.uplink,
        id: this.id,
        ...(this.mtu === undefined ? {} : { mtu: this.mtu }),
      });
      return true;
    } catch (error) {
      if (isClusterLabError(error) && error.code === 'LINK_EXISTS') return false;
      const unsupported = unsupportedLinkKind(error);
      if (unsupported) {
        throw new BackendError(
          'KERNEL_NO_8021Q',
          `this kernel cannot create 802.1Q VLAN links (\`${unsupported.command}\`: ${unsupported.stderr})`,
          {
            hint: 'load the module with `modprobe 8021q` (kernel option CONFIG_VLAN_8021Q); without it set network.backend to vxlan or native',
            errorClass: 'dependency',
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async teardown(previous?: TeardownState): Promise<boolean> {
    const state = previous ?? this.last;
    this.last = undefined;
    return teardownCreatedLink(this.network, this.linkName, state, (link) => this.isOurs(link));
  }

  async describe(): Promise<BackendDescription> {
    const uplink = await inspectUplink(this.network, this.uplink);
    const link = await this.network.getLink(this.linkName);
    const d = await describeLink(
      this.network,
      {
        kind: 'vlan',
        name: this.linkName,
        uplink: this.uplink,
        expectedMtu: this.mtu,
        missingHint: 'run `cluster-lab start`; if it fails with KERNEL_NO_8021Q run `modprobe 8021q` or use network.backend vxlan',
      },
      link,
      uplink.problems,
    );
    if (link) {
      d.kindMatches = link.kind === 'vlan';
      if (link.vlan) d.vlanId = link.vlan.id;
      if (!d.kindMatches) {
        d.problems.push(
          problem(
            'KIND_MISMATCH',
            `"${link.name}" is a ${link.kind ?? 'physical'} link, not an 802.1Q VLAN`,
            `remove it (\`ip link del dev ${link.name}\`) and run \`cluster-lab start\``,
          ),
        );
      } else {
        if (link.vlan?.id !== this.id) {
          d.problems.push(
            problem(
              'VLAN_ID_MISMATCH',
              `"${link.name}" carries VLAN ${link.vlan?.id}, the configuration says ${this.id}`,
              `remove it (\`ip link del dev ${link.name}\`) and run \`cluster-lab start\``,
            ),
          );
        }
        if (link.parent !== undefined && link.parent !== this.uplink) {
          d.problems.push(
            problem(
              'PARENT_MISMATCH',
              `"${link.name}" sits on "${link.parent}", the configuration says "${this.uplink}"`,
              `remove it (\`ip link del dev ${link.name}\`) and run \`cluster-lab start\``,
            ),
          );
        }
      }
    }
    return finish(d);
  }
}
