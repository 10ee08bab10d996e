import { type Check, fail, pass } from '@cluster-lab/core';
import type { NetworkBackend } from './backends/network-backend.js';

/**
 * A health {@link Check} (`network.link`) built on {@link NetworkBackend.describe}: PASS with the
 * link's name, kind, MTU and addresses, or FAIL listing every problem with the first one's hint.
 *
 * @example
 * ```ts
 * const report = await runChecks([backendCheck(createBackend(config, { network, runner }))]);
 * ```
 */
export function backendCheck(backend: NetworkBackend): Check {
  return {
    id: 'network.link',
    title: `cluster link ${backend.linkName} (${backend.kind})`,
    async run() {
      const d = await backend.describe();
      if (d.ok) {
        const extra = d.vlanId !== undefined ? `, VLAN ${d.vlanId}` : d.vni !== undefined ? `, VNI ${d.vni} port ${d.port}` : '';
        return pass(`${d.name} up, MTU ${d.mtu}${extra}, addresses: ${d.addresses.join(', ') || 'none'}`);
      }
      return fail(d.problems.map((p) => p.message).join('; '), d.problems[0]?.hint);
    },
  };
}
