import { ClusterLabError, type EventSink, OPEN_SECURITY_HINT, OPEN_SECURITY_WARNING } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';

/**
 * The security part of `start`'s preflight, after the host checks (which already refused an
 * unusable secret file): with `security: open` a warning on every run; with a secret, the node
 * must carry its keys — built by `loadNodeFacts`, not `nodeFacts` alone — so nothing ever starts
 * unauthenticated by accident.
 */
export function securityPreflight(node: NodeFacts, onEvent: EventSink): void {
  if (node.config.security === 'open') {
    onEvent({ type: 'log', level: 'warn', message: `${OPEN_SECURITY_WARNING} (${OPEN_SECURITY_HINT})`, source: 'security' });
    return;
  }
  if (!node.keys) {
    throw new ClusterLabError('NODE_KEYS_MISSING', 'the node was built without the keys of its cluster secret', {
      hint: 'build it with `await loadNodeFacts(config)` (it reads secretFile), or pass `keys: await loadClusterKeys(config)` to nodeFacts',
      errorClass: 'usage',
    });
  }
}
