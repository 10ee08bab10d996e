/** A host that answered an ARP probe for an address. */
export interface AddressOwner {
  /** Its MAC address, lower case. */
  mac: string;
}

/** Options of {@link AddressProber.probe}. */
export interface ProbeOptions {
  /**
   * Return as soon as one host answered. Enough to know the address is taken (the election's
   * probes); leave unset to list every holder (duplicate detection).
   */
  stopAtFirst?: boolean;
}

/**
 * Looks for other holders of an IPv4 address on a link and announces our own claim —
 * the two halves of RFC 5227 address conflict detection. The real one is {@link ArpingProber};
 * {@link FakeSegment} provides an in-memory one.
 */
export interface AddressProber {
  /**
   * Sends ARP probes (sender IP 0.0.0.0, RFC 5227 §2.1.1) for `address` on `link` and returns
   * every other host that answered — this host never answers its own probes. An empty list means
   * nobody else holds the address.
   */
  probe(address: string, link: string, options?: ProbeOptions): Promise<AddressOwner[]>;
  /** Broadcasts a gratuitous ARP for `address` (which this host now holds) so neighbours update their caches. */
  announce(address: string, link: string): Promise<void>;
}
