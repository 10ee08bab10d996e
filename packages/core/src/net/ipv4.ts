/** A parsed IPv4 CIDR such as `192.168.200.0/24`. */
export interface Ipv4Cidr {
  /** The address part as written (may be a host address, e.g. `192.168.200.1/24`). */
  address: string;
  prefix: number;
  /** Network address (`192.168.200.0`). */
  network: string;
  /** Broadcast address (`192.168.200.255`). */
  broadcast: string;
  /** Dotted netmask (`255.255.255.0`). */
  netmask: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a dotted-quad IPv4 address without leading zeros. */
export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/** IPv4 address → unsigned 32-bit integer. Throws on invalid input. */
export function ipv4ToInt(address: string): number {
  if (!isIpv4(address)) throw new TypeError(`not an IPv4 address: "${address}"`);
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** Unsigned 32-bit integer → dotted IPv4 address. */
export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/n`; returns undefined when it is not a valid IPv4 CIDR. */
export function parseCidr(value: string): Ipv4Cidr | undefined {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(value);
  if (!match || !isIpv4(match[1] as string)) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const addr = ipv4ToInt(match[1] as string);
  const network = addr - (addr % size);
  return {
    address: match[1] as string,
    prefix,
    network: intToIpv4(network),
    broadcast: intToIpv4(network + size - 1),
    netmask: intToIpv4(2 ** 32 - size),
  };
}

/** True when `address` lies inside `cidr` (network and broadcast included). */
export function cidrContains(cidr: string | Ipv4Cidr, address: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  if (!c || !isIpv4(address)) return false;
  const a = ipv4ToInt(address);
  return a >= ipv4ToInt(c.network) && a <= ipv4ToInt(c.broadcast);
}

/** Dotted netmask → prefix length; undefined when the mask is not contiguous. */
export function netmaskToPrefix(netmask: string): number | undefined {
  if (!isIpv4(netmask)) return undefined;
  const bits = ipv4ToInt(netmask).toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? (bits.indexOf('0') === -1 ? 32 : bits.indexOf('0')) : undefined;
}
