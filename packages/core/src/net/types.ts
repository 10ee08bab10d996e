/** A network interface as reported by `ip -j -d link show`. */
export interface Link {
  index: number;
  name: string;
  /** Administrative state: the `UP` flag is set. */
  up: boolean;
  /** Kernel operational state (`UP`, `DOWN`, `LOWERLAYERDOWN`, `UNKNOWN`…). */
  operState: string;
  flags: string[];
  mtu: number;
  /** MAC address (lower case). */
  mac: string;
  /** Bridge this link is enslaved to. */
  master?: string;
  /** Lower link: the parent of a VLAN, the peer of a veth, the device of a VXLAN. */
  parent?: string;
  /** Interface index of the lower link when it lives in another namespace (a veth's peer moved away). */
  parentIndex?: number;
  /** Namespace id (as seen from this namespace) holding the lower link, when it is elsewhere. */
  parentNetnsId?: number;
  /** `linkinfo.info_kind`: `veth`, `bridge`, `vlan`, `vxlan`… Absent for physical NICs. */
  kind?: string;
  /** For `vlan` links. */
  vlan?: { id: number; protocol: string };
  /** For `vxlan` links. */
  vxlan?: { vni: number; port: number; group?: string; local?: string; dev?: string; learning?: boolean };
}

/** One IPv4/IPv6 address on a link (`ip -j addr show`). */
export interface Address {
  /** Interface holding the address. */
  dev: string;
  family: 'inet' | 'inet6';
  /** The address itself, e.g. `192.168.200.1`. */
  local: string;
  prefixlen: number;
  /** `local/prefixlen`. */
  cidr: string;
  scope: string;
  /** Obtained dynamically (DHCP/SLAAC). */
  dynamic: boolean;
}

/** One route (`ip -j route show`). */
export interface Route {
  /** `default` or a CIDR. */
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
}

/** What to create with {@link Network.addLink}. */
export type LinkSpec =
  | { kind: 'veth'; name: string; peer: string /** Create the peer directly inside this netns. */; peerNetns?: string; mtu?: number }
  | { kind: 'bridge'; name: string; mtu?: number }
  | { kind: 'vlan'; name: string; parent: string; id: number; mtu?: number }
  | {
      kind: 'vxlan';
      name: string;
      vni: number;
      /** UDP port. Do not use 4789: Docker Swarm's overlay data path already does. */
      port: number;
      /** Underlay device (the uplink). */
      dev?: string;
      /** Multicast group for BUM traffic; omit for a static peer list. */
      group?: string;
      local?: string;
      learning?: boolean;
      mtu?: number;
      /** MAC address of the new link; the kernel picks a random one otherwise. */
      mac?: string;
    };

/**
 * Typed access to links, addresses and routes of one network namespace. Implemented by
 * {@link IpRoute2} (the real `ip` command) and {@link InMemoryNetwork} (a fake for unit tests).
 *
 * Deleting something that is already gone succeeds (teardown must be idempotent).
 */
export interface Network {
  /** Namespace this handle acts in; undefined for the caller's own namespace. */
  readonly netns: string | undefined;
  /** A handle for the same operations inside another network namespace. */
  in(netns: string | undefined): Network;
  /** Every link of the namespace, loopback included. */
  listLinks(): Promise<Link[]>;
  /** The link named `name`, or undefined. */
  getLink(name: string): Promise<Link | undefined>;
  /** Like {@link getLink} but throws {@link LinkNotFoundError}. */
  requireLink(name: string): Promise<Link>;
  /** Creates a link; throws {@link LinkExistsError} when the name is taken. */
  addLink(spec: LinkSpec): Promise<void>;
  /** Deletes a link; returns false when it did not exist. */
  delLink(name: string): Promise<boolean>;
  /** Sets a link administratively up. */
  setUp(name: string): Promise<void>;
  /** Sets a link administratively down. */
  setDown(name: string): Promise<void>;
  /** Changes a link's MTU (68–65535). */
  setMtu(name: string, mtu: number): Promise<void>;
  /** Renames a link; set it down first (older kernels refuse to rename a link that is up). */
  rename(name: string, newName: string): Promise<void>;
  /** Enslaves `name` to bridge `master`. */
  setMaster(name: string, master: string): Promise<void>;
  /** Moves a link into another network namespace. */
  setNetns(name: string, netns: string): Promise<void>;
  /** Addresses of one link, or of all links. */
  listAddresses(dev?: string): Promise<Address[]>;
  /** Adds `cidr` to `dev`; returns false (and changes nothing) when it is already there. */
  addAddress(dev: string, cidr: string): Promise<boolean>;
  /** Removes `cidr` from `dev`; returns false when it was not there. */
  delAddress(dev: string, cidr: string): Promise<boolean>;
  /** Routes of the main IPv4 table. */
  routes(): Promise<Route[]>;
}
