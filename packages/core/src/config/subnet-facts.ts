import type { ClusterConfig } from './schema.js';

/**
 * Prefix length of the cluster subnet: 24 for `192.168.200.0/24`. Every address Cluster Lab puts
 * on the cluster link (the leader address, a lease) carries it. The config schema has already
 * checked that `subnet` is a valid CIDR.
 */
export function subnetPrefix(config: Pick<ClusterConfig, 'subnet'>): number {
  return Number(config.subnet.slice(config.subnet.indexOf('/') + 1));
}

/**
 * The leader address as it sits on the cluster link, with the subnet's prefix length:
 * `192.168.200.1/24` for the defaults.
 */
export function leaderCidr(config: Pick<ClusterConfig, 'subnet' | 'leaderAddress'>): string {
  return `${config.leaderAddress}/${subnetPrefix(config)}`;
}
