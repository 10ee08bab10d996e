import { isSealedValue, openSealedValue, SealedValueError, sealValue } from '@cluster-lab/core';
import { swarmError } from './errors.js';

/**
 * The key that seals the join tokens in the cluster store: `ClusterKeys.swarmTokenKey` (32
 * bytes), or a list — the current key first, then the previous one — while a new cluster secret
 * is rolled out. Undefined: tokens are stored in clear (`security: open`).
 */
export type SwarmTokenKey = Uint8Array | readonly Uint8Array[];

/**
 * The value to store for a join token under `storeKey`: sealed with AES-256-GCM (`sealValue`,
 * the store key as associated data, so a sealed manager token copied to the worker key no longer
 * opens), or the token itself without a key.
 */
export function sealSwarmToken(key: SwarmTokenKey | undefined, storeKey: string, token: string): string {
  if (key === undefined) return token;
  return sealValue(key instanceof Uint8Array ? key : (key[0] as Uint8Array), storeKey, token);
}

/**
 * The join token in a value read from `storeKey`. With a key the value must be sealed and open
 * with it; without one it must be plain. Each mismatch is its own error with the fix — and none
 * ever carries the value.
 */
export function openSwarmToken(key: SwarmTokenKey | undefined, storeKey: string, stored: string): string {
  const sealed = isSealedValue(stored);
  if (key === undefined) {
    if (!sealed) return stored;
    throw swarmError('SWARM_TOKEN_SEALED', `the join token at ${storeKey} is sealed with the cluster secret, and this node has none`, {
      hint: 'this node runs with `security: open` but the cluster uses a secret: copy the secret file to this node and remove `security: open`',
      errorClass: 'config',
    });
  }
  if (!sealed) {
    throw swarmError('SWARM_TOKEN_NOT_SEALED', `the join token at ${storeKey} is not sealed, but this node has the cluster secret`, {
      hint: 'the leader runs with `security: open`: give every node the same secret file and the same `security` setting, then restart the leader',
      errorClass: 'config',
    });
  }
  try {
    return openSealedValue(key, storeKey, stored);
  } catch (error) {
    if (!(error instanceof SealedValueError)) throw error;
    throw swarmError(
      'SWARM_TOKEN_SEALED_WITH_ANOTHER_SECRET',
      `the join token at ${storeKey} does not open with this node's key: this node's secret differs from the cluster's`,
      {
        hint: 'copy the secret file from a node of the cluster (compare `sudo cluster-lab secret fingerprint` on both), then run `cluster-lab start` again',
        errorClass: 'config',
        cause: error,
      },
    );
  }
}
