import { deriveClusterKeys, readSecretFile } from '@cluster-lab/core';
import type { ElectionSecurity } from '@cluster-lab/election';
import type { NodeFacts } from '../node-facts.js';

/**
 * How this node's election and heartbeat messages are protected: with `security: secret` (the
 * default) every message is signed with the election key derived from the cluster secret in
 * `secretFile` (the keys `loadNodeFacts` read, else the file), and messages that do not verify are dropped; with `security: open` they are
 * sent unsigned and anyone on the cluster link can take part. Throws `SecretFileError` (exit 2,
 * with the fix) when the secret file is missing or unusable.
 *
 * @example
 * ```ts
 * const security = await electionSecurity(node);
 * const deps = createRealElectionDeps({ runner, network, security });
 * ```
 */
export async function electionSecurity(node: Pick<NodeFacts, 'config' | 'keys'>): Promise<ElectionSecurity> {
  const { config, keys } = node;
  if (config.security === 'open') return { mode: 'open' };
  return { mode: 'secret', key: (keys ?? deriveClusterKeys(await readSecretFile(config.secretFile))).electionKey };
}
