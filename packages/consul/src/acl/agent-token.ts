import { AGENT_POLICY_NAME, type ClusterLabError } from '@cluster-lab/core';
import type { ConsulClient } from '../api/consul-client.js';
import { consulError, formatDuration } from '../consul-errors.js';

/**
 * Rules of the `cluster-lab-agent` policy every node's agent token carries, besides the token's
 * node identity (`node "<name>"` write, `service_prefix ""` read): Cluster Lab's own KV and the
 * sessions its locks need, and read access to the catalog and agents. Nothing outside
 * `cluster-lab/` in KV, no ACL management.
 */
export const AGENT_POLICY_RULES = `# Written by Cluster Lab: what every node's agent token may do besides its node identity.
key_prefix "cluster-lab/" { policy = "write" }
session_prefix "" { policy = "write" }
node_prefix "" { policy = "read" }
service_prefix "" { policy = "read" }
agent_prefix "" { policy = "read" }
`;

/** How long {@link ensureAgentToken} keeps trying by default: a new leader sets up its ACLs within a second or two. */
export const AGENT_TOKEN_TIMEOUT_MS = 20_000;
const RETRY_MS = 100;

/** Options of {@link ensureAgentToken}. */
export interface EnsureAgentTokenOptions {
  /** The Consul node name the token is for (its node identity). */
  nodeName: string;
  datacenter: string;
  /** The token's SecretID (derived from the cluster secret: the same on every node that derives it). */
  agentToken: string;
  /** Give up after this long with `CONSUL_ACL_NOT_READY`. Default {@link AGENT_TOKEN_TIMEOUT_MS}. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What {@link ensureAgentToken} did. */
export interface EnsureAgentTokenResult {
  /** False when the token already existed (a restart). */
  created: boolean;
}

// A fresh cluster answers 403 "ACL not found" (even to the management token) and 500 "ACL support
// disabled" / "no cluster leader" until the Raft leader has bootstrapped its ACLs: not yet, retry.
const NOT_YET = new Set([
  'CONSUL_PERMISSION_DENIED',
  'CONSUL_NO_LEADER',
  'CONSUL_SERVER_ERROR',
  'CONSUL_UNAVAILABLE',
  'CONSUL_UNREACHABLE',
]);

/**
 * Makes sure this node's agent token exists, idempotently, and that the local agent uses it: the
 * `cluster-lab-agent` policy ({@link AGENT_POLICY_RULES}) is created if missing, then the token
 * with `SecretID` = `agentToken`, that policy and the node identity of `nodeName` (Consul ≥ 1.8.1),
 * then `PUT /v1/agent/token/agent` so the agent syncs its node at once instead of at its next
 * anti-entropy retry (up to 15 s later). `client` must send the management token.
 * A token that already exists is left as it is. Retries while the cluster's ACLs are still
 * being set up, up to `timeoutMs`.
 *
 * @example
 * ```ts
 * const client = new ConsulClient({ address: '127.0.0.1:8500', token: keys.managementToken });
 * await ensureAgentToken(client, { nodeName: 'pi2', datacenter: 'cluster-lab', agentToken: keys.agentToken('pi2') });
 * ```
 */
export async function ensureAgentToken(client: ConsulClient, options: EnsureAgentTokenOptions): Promise<EnsureAgentTokenResult> {
  const timeoutMs = options.timeoutMs ?? AGENT_TOKEN_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await ensureOnce(client, options);
    } catch (error) {
      const code = (error as ClusterLabError).code;
      if (!NOT_YET.has(code)) throw error;
      if (Date.now() + RETRY_MS > deadline || options.signal?.aborted) {
        throw consulError(
          'CONSUL_ACL_NOT_READY',
          `could not create the Consul agent token of ${options.nodeName} within ${formatDuration(timeoutMs)}: ${(error as Error).message}`,
          {
            hint: "the management token was refused or no server answered: every node needs the same cluster secret (compare `sudo cluster-lab secret fingerprint`), and the cluster's Consul servers must be up",
            cause: error,
          },
        );
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

async function ensureOnce(client: ConsulClient, options: EnsureAgentTokenOptions): Promise<EnsureAgentTokenResult> {
  if (await tokenExists(client, options.agentToken)) return { created: false };
  await ensurePolicy(client);
  try {
    await client.request('acl.token.create', 'PUT', '/acl/token', {
      body: {
        SecretID: options.agentToken,
        Description: `Cluster Lab agent token of ${options.nodeName}`,
        Policies: [{ Name: AGENT_POLICY_NAME }],
        NodeIdentities: [{ NodeName: options.nodeName, Datacenter: options.datacenter }],
      },
    });
  } catch (error) {
    // Created meanwhile (a concurrent start of the same node): that is the token we wanted.
    if (!/SecretID is already in use/i.test((error as Error).message)) throw error;
  }
  await client.request('agent.token.agent', 'PUT', '/agent/token/agent', { body: { Token: options.agentToken } });
  return { created: true };
}

async function tokenExists(client: ConsulClient, token: string): Promise<boolean> {
  try {
    await client.request('acl.token.self', 'GET', '/acl/token/self', { token });
    return true;
  } catch (error) {
    if (/ACL not found/i.test((error as Error).message)) return false;
    throw error;
  }
}

async function ensurePolicy(client: ConsulClient): Promise<void> {
  const policies = await client.request<Array<{ ID: string; Name: string }>>('acl.policy.list', 'GET', '/acl/policies');
  const existing = policies?.find((p) => p.Name === AGENT_POLICY_NAME);
  const body = { Name: AGENT_POLICY_NAME, Description: 'Cluster Lab: every node agent token', Rules: AGENT_POLICY_RULES };
  try {
    // Rewritten when it exists, so a newer release's rules replace an older one's.
    if (existing) await client.request('acl.policy.update', 'PUT', `/acl/policy/${existing.ID}`, { body });
    else await client.request('acl.policy.create', 'PUT', '/acl/policy', { body });
  } catch (error) {
    if (!/already exists/i.test((error as Error).message)) throw error;
  }
}
