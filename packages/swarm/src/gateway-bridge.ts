import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from './docker-api.js';
import { SWARM_CALLS, toSwarmError } from './errors.js';

/**
 * The bridge network Docker creates on a node when it enters swarm mode (`swarm init`/`join`):
 * it connects the node's overlay endpoints (the ingress sandbox, service tasks) to the host.
 * Docker keeps it after `swarm leave`, so `stop` removes it when `start` made it.
 */
export const GATEWAY_BRIDGE = 'docker_gwbridge';

/**
 * How long {@link removeGatewayBridge} may take: up to half of it waiting for the left swarm's
 * ingress tear-down (Docker releases the ingress sandbox asynchronously, usually within a
 * second), the rest removing the bridge while endpoints are still attached.
 */
export const GATEWAY_BRIDGE_REMOVE_TIMEOUT_MS = 10_000;
/** The swarm's routing-mesh network, whose sandbox is attached to `docker_gwbridge`. */
const INGRESS_NETWORK = 'ingress';
/** How long a removed bridge must stay gone before it counts as removed (a queued ingress set-up would bring it back). */
const BRIDGE_SETTLE_MS = 300;

/** Whether `docker_gwbridge` exists on this node. Equivalent to `docker network inspect docker_gwbridge`. */
export function gatewayBridgeExists(docker: DockerClient): Promise<boolean> {
  return networkExists(docker, GATEWAY_BRIDGE);
}

async function networkExists(docker: DockerClient, name: string): Promise<boolean> {
  try {
    await docker.getNetwork(name).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw toSwarmError(error, `inspect the ${name} network`, SWARM_CALLS.inspectNetwork);
  }
}

/**
 * Removes `docker_gwbridge` (and with it the Linux bridge of that name); false when it was not
 * there. Waits for the left swarm's `ingress` network to go first, retries while Docker still has
 * endpoints on the bridge, and removes it again if a queued ingress set-up brought it back — all
 * within `timeoutMs`. Equivalent to `docker network rm docker_gwbridge`.
 *
 * @example
 * ```ts
 * const existed = await gatewayBridgeExists(docker);    // before swarm init/join
 * // … later, after leaving the swarm:
 * if (!existed) await removeGatewayBridge(docker);
 * ```
 */
export async function removeGatewayBridge(docker: DockerClient, timeoutMs = GATEWAY_BRIDGE_REMOVE_TIMEOUT_MS): Promise<boolean> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  // dockerd sets the ingress sandbox up and tears it down through one queue of jobs: a set-up
  // still queued when the node left (it had just joined, on a loaded host) runs after the leave
  // and creates docker_gwbridge again. The swarm's `ingress` network goes with the tear-down,
  // queued behind it: wait for that first, then make sure the bridge stays gone.
  await waitForNetworkGone(docker, INGRESS_NETWORK, started + timeoutMs / 2);
  let removed = false;
  for (;;) {
    try {
      await docker.getNetwork(GATEWAY_BRIDGE).remove();
      removed = true;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404) {
        await sleep(BRIDGE_SETTLE_MS);
        if (!(await gatewayBridgeExists(docker)) || Date.now() >= deadline) return removed;
        continue;
      }
      if (Date.now() >= deadline || (status !== 403 && status !== 500)) {
        throw toSwarmError(error, `remove the ${GATEWAY_BRIDGE} network`, SWARM_CALLS.removeNetwork);
      }
      // The left swarm's ingress sandbox can keep its endpoint here for long (seen > 20 s on a
      // loaded host): detach what is still attached — nothing of the node's own uses this bridge
      // once it left the swarm.
      await detachAll(docker).catch(() => undefined);
      await sleep(100);
    }
  }
}

async function waitForNetworkGone(docker: DockerClient, name: string, deadline: number): Promise<void> {
  // Any answer but "it is there" (an error included) ends the wait: nothing to wait on.
  while (Date.now() < deadline && (await networkExists(docker, name).catch(() => false))) await sleep(100);
}

async function detachAll(docker: DockerClient): Promise<void> {
  const network = docker.getNetwork(GATEWAY_BRIDGE);
  const info = (await network.inspect()) as { Containers?: Record<string, unknown> };
  for (const id of Object.keys(info.Containers ?? {})) await network.disconnect({ Container: id, Force: true });
}
