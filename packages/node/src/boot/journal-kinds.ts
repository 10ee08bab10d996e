/** Journal entry kinds written by `startNode` (and by a failover's leader duties), in the order start makes them. */
export const JOURNAL_KINDS = {
  link: 'cluster-link',
  /** Kernel settings the cluster link needs (`ip_nonlocal_bind`, `promote_secondaries`), with their previous values. */
  sysctl: 'sysctl',
  leaderAddress: 'leader-address',
  /** The leader's own node address on the cluster link (followers lease theirs: `dhcpLease`). */
  nodeAddress: 'node-address',
  dhcpServer: 'dhcp-server',
  dhcpLease: 'dhcp-lease',
  consul: 'consul-agent',
  swarm: 'swarm-member',
  supervisor: 'supervisor',
} as const;
