import { hkdfSync } from 'node:crypto';
import type { ClusterSecret } from './cluster-secret.js';

/**
 * HKDF salt shared by every derivation: names the application and the derivation scheme's
 * version, so the same 32 bytes used elsewhere would not give these keys.
 */
export const HKDF_SALT = 'cluster-lab/v1';

/**
 * The HKDF `info` label of each derived value — one per use, so no key ever serves two
 * purposes (a leaked election key does not reveal the ACL token). Changing a label changes
 * the value: treat them as part of the on-the-wire format.
 */
export const KEY_LABELS = {
  gossipKey: 'consul-gossip-key',
  managementToken: 'consul-management-token',
  /** Followed by the Consul node name: `consul-agent-token:node1`. */
  agentTokenPrefix: 'consul-agent-token:',
  electionKey: 'election-hmac-key',
  swarmTokenKey: 'swarm-token-key',
  fingerprint: 'secret-fingerprint',
} as const;

/** Name of the Consul ACL policy the per-node agent tokens carry (created by the boot flow). */
export const AGENT_POLICY_NAME = 'cluster-lab-agent';

/**
 * Every value derived from the cluster secret. Never log these, put them in events, `--json`
 * output, the journal or open Consul KV: each one is as sensitive as the secret for its use.
 */
export interface ClusterKeys {
  /** Consul gossip encryption key: 32 bytes, base64 (the form `consul keygen` prints and `encrypt` takes). */
  gossipKey: string;
  /** Consul ACL bootstrap/management token (the `initial_management`/`master` token), UUID form. */
  managementToken: string;
  /** HMAC-SHA256 key that authenticates election and heartbeat messages (`signMessage`). */
  electionKey: Buffer;
  /** AES-256-GCM key that encrypts the Swarm join tokens stored in Consul KV (`sealValue`). */
  swarmTokenKey: Buffer;
  /** A non-secret name of this secret (16 hex digits): two nodes with the same fingerprint share the secret. */
  fingerprint: string;
  /** The Consul agent token of one node, UUID form (same node name → same token on every node). */
  agentToken(nodeName: string): string;
}

/**
 * HKDF-SHA256 (RFC 5869) of the secret with salt {@link HKDF_SALT} and `info` = `label`.
 *
 * @example
 * ```ts
 * deriveBytes(secret, KEY_LABELS.electionKey, 32);
 * ```
 */
export function deriveBytes(secret: ClusterSecret, label: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret.bytes(), Buffer.from(HKDF_SALT), Buffer.from(label), length));
}

/**
 * 16 derived bytes written as a UUID (version 4 and variant bits set, as Consul and most
 * validators expect of a token's SecretID).
 */
export function deriveUuid(secret: ClusterSecret, label: string): string {
  const b = deriveBytes(secret, label, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Derives every per-use key of a cluster from its secret. Deterministic: every node computes
 * the same values from the same secret, so nothing derived has to be sent or stored.
 *
 * @example
 * ```ts
 * const keys = deriveClusterKeys(await readSecretFile(config.secretFile));
 * const encrypt = config.consul.encrypt ?? keys.gossipKey; // a user-supplied key wins
 * ```
 */
export function deriveClusterKeys(secret: ClusterSecret): ClusterKeys {
  return {
    gossipKey: deriveBytes(secret, KEY_LABELS.gossipKey, 32).toString('base64'),
    managementToken: deriveUuid(secret, KEY_LABELS.managementToken),
    electionKey: deriveBytes(secret, KEY_LABELS.electionKey, 32),
    swarmTokenKey: deriveBytes(secret, KEY_LABELS.swarmTokenKey, 32),
    fingerprint: deriveBytes(secret, KEY_LABELS.fingerprint, 8).toString('hex'),
    agentToken(nodeName: string): string {
      if (nodeName === '' || /[\p{Cc}\s]/u.test(nodeName)) throw new TypeError(`not a Consul node name: ${JSON.stringify(nodeName)}`);
      return deriveUuid(secret, `${KEY_LABELS.agentTokenPrefix}${nodeName}`);
    },
  };
}
