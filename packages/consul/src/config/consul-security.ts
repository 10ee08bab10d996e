import { type ClusterConfig, type ClusterKeys, type ConsulSecrets, consulSecrets } from '@cluster-lab/core';

/**
 * What secures one node's Consul agent: the gossip key, the management token and the agent's
 * own token. Never log these or put them in events.
 */
export interface ConsulSecurity {
  /** Gossip encryption key (`encrypt`), or undefined: gossip in clear. */
  encrypt?: string;
  /**
   * The ACL management token: servers create it at bootstrap (`acl.tokens.master` /
   * `initial_management`), and Cluster Lab's own API calls (KV, sessions, catalog, health) send
   * it. Undefined: ACLs off.
   */
  managementToken?: string;
  /** This agent's own token (`acl.tokens.agent`): registers the node, syncs its services and coordinates. */
  agentToken?: string;
  /**
   * Where the values come from. `config`: the user's `consul.encrypt`/`consul.aclToken`, and the
   * one token is the agent token too (it already exists: it is the management token).
   * `secret`: derived from the cluster secret; the agent token is this node's own and the agent
   * role creates it ({@link ensureAgentToken}).
   */
  source: ConsulSecrets['source'];
}

/**
 * The {@link ConsulSecurity} of node `nodeName`: a value in the config wins
 * (`consul.encrypt`, `consul.aclToken` — the latter then also serves as every agent's token, as
 * before the cluster secret existed); otherwise the values derived from the cluster secret
 * (`keys`), with a per-node agent token; with `security: open` and nothing configured, none.
 *
 * @example
 * ```ts
 * const security = consulSecurity(config, await loadClusterKeys(config), 'pi2');
 * security.agentToken; // pi2's own token, the same on every node that derives it
 * ```
 */
export function consulSecurity(config: ClusterConfig, keys: ClusterKeys | undefined, nodeName: string): ConsulSecurity {
  const secrets = consulSecrets(config, keys);
  const agentToken =
    secrets.source.token === 'config' ? secrets.token : secrets.source.token === 'secret' ? keys?.agentToken(nodeName) : undefined;
  return {
    ...(secrets.encrypt !== undefined ? { encrypt: secrets.encrypt } : {}),
    ...(secrets.token !== undefined ? { managementToken: secrets.token } : {}),
    ...(agentToken !== undefined ? { agentToken } : {}),
    source: secrets.source,
  };
}
