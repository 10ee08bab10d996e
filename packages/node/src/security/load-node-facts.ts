import { type ClusterConfig, loadClusterKeys, SecretFileError } from '@cluster-lab/core';
import { type NodeFacts, type NodeFactsOptions, nodeFacts } from '../node-facts.js';

/**
 * {@link nodeFacts} with the cluster keys: reads `secretFile` once (unless `security: open`) and
 * derives the Consul, Swarm-token and election keys into `node.keys`. A missing or unusable
 * secret file does not throw here — `keys` stays undefined, `startNode`'s preflight refuses
 * with the file's problem and the command that fixes it (exit code 2), and `health` FAILs its
 * secret check — so read-only commands still work on a node whose secret went missing.
 *
 * @example
 * ```ts
 * const node = await loadNodeFacts(config);
 * await startNode(node, { services: createNodeServices({ supervisor }) });
 * ```
 */
export async function loadNodeFacts(config: ClusterConfig, options: Omit<NodeFactsOptions, 'keys'> = {}): Promise<NodeFacts> {
  let keys: Awaited<ReturnType<typeof loadClusterKeys>>;
  try {
    keys = await loadClusterKeys(config);
  } catch (error) {
    if (!(error instanceof SecretFileError)) throw error;
  }
  return nodeFacts(config, { ...options, ...(keys ? { keys } : {}) });
}
