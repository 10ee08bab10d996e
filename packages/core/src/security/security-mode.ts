import type { ClusterConfig } from '../config/schema.js';
import type { ClusterKeys } from './derive-keys.js';

/**
 * The warning `start` and `health` print on every run of a node with `security: open`: nothing
 * stops a stranger on the cluster link, and with the vxlan backend that is anyone on the LAN.
 */
export const OPEN_SECURITY_WARNING =
  'security: open — no cluster secret: anyone who can reach the cluster link (with the vxlan backend: anyone on the LAN) can read the Swarm join tokens, join Consul, take the leader role and hand out DHCP leases';

/** How to leave `security: open`, printed with {@link OPEN_SECURITY_WARNING}. */
export const OPEN_SECURITY_HINT =
  'for anything but a throwaway cluster: `sudo cluster-lab secret generate --output /etc/cluster-lab/secret` on one node, copy it to the others, remove `security: open`';

/** The Consul secrets a node uses: the user's own `consul.encrypt`/`consul.aclToken` win over derived ones. */
export interface ConsulSecrets {
  /** Gossip key for Consul's `encrypt`, or undefined (open, and none configured). */
  encrypt?: string;
  /** Management token (Cluster Lab's own API calls, the ACL bootstrap token), or undefined. */
  token?: string;
  /** Where each came from, for `status` (never the values). */
  source: { encrypt: 'config' | 'secret' | 'none'; token: 'config' | 'secret' | 'none' };
}

/**
 * The gossip key and management token to run Consul with: a value set in the config
 * (`consul.encrypt`, `consul.aclToken`) wins; otherwise the one derived from the cluster secret;
 * with `security: open` and nothing configured, none.
 *
 * @example
 * ```ts
 * const keys = config.security === 'secret' ? deriveClusterKeys(await readSecretFile(config.secretFile)) : undefined;
 * const { encrypt, token } = consulSecrets(config, keys);
 * ```
 */
export function consulSecrets(config: ClusterConfig, keys: ClusterKeys | undefined): ConsulSecrets {
  const encrypt = config.consul.encrypt ?? keys?.gossipKey;
  const token = config.consul.aclToken ?? keys?.managementToken;
  return {
    ...(encrypt !== undefined ? { encrypt } : {}),
    ...(token !== undefined ? { token } : {}),
    source: {
      encrypt: config.consul.encrypt !== undefined ? 'config' : keys ? 'secret' : 'none',
      token: config.consul.aclToken !== undefined ? 'config' : keys ? 'secret' : 'none',
    },
  };
}
