import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * Application key mixed into the machine id. systemd asks programs not to publish
 * `/etc/machine-id` itself (it is a host secret); an HMAC keyed per application gives a stable
 * id that does not reveal it (like `sd_id128_get_machine_app_specific`).
 */
const NODE_ID_APP_KEY = 'cluster-lab/consul/node-id/v1';

/**
 * Derives Consul's `node_id` (a UUID) from a machine id. The same machine always gets the same
 * id, so a reinstalled or rebooted node rejoins without Consul's "conflicting node ID" rejection
 * (DESIGN §6), while two machines never share one.
 *
 * @example
 * ```ts
 * nodeIdFromMachineId('3d1219c7c4c5404aaa1f6d2a48adfda4'); // → '5c0f…-…' (always the same)
 * ```
 */
export function nodeIdFromMachineId(machineId: string): string {
  const id = machineId.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) {
    throw new TypeError(`machine id must be 32 hex digits (as in /etc/machine-id), got ${JSON.stringify(machineId.trim())}`);
  }
  const hex = createHmac('sha256', NODE_ID_APP_KEY).update(id).digest('hex').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Reads `/etc/machine-id` (or `path`) and returns {@link nodeIdFromMachineId} of it. */
export async function readNodeId(path = '/etc/machine-id'): Promise<string> {
  return nodeIdFromMachineId(await readFile(path, 'utf8'));
}
