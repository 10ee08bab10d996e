import { swarmError } from './errors.js';

/** Label telling whether a node is the cluster-lab leader or a follower. */
export const ROLE_LABEL = 'cluster-lab.role';
/** Label with the node's CPU architecture (`uname -m`), e.g. for `--constraint node.labels.cluster-lab.arch==aarch64`. */
export const ARCH_LABEL = 'cluster-lab.arch';
/** Prefix reserved for labels this package derives; user labels may not use it. */
export const RESERVED_LABEL_PREFIX = 'cluster-lab.';

/** The cluster-lab role of a node, as put in {@link ROLE_LABEL}. */
export type ClusterRole = 'leader' | 'follower';

const LABEL_KEY = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Checks user labels from the config: lower-case keys (Docker's convention, also enforced by
 * the config schema) outside the reserved `cluster-lab.` namespace.
 */
export function assertUserLabels(labels: Record<string, string>): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key)) {
      throw swarmError('SWARM_INVALID_OPTION', `swarm.labels key "${key}" is invalid: use lower-case letters, digits, ".", "_" and "-"`, {
        hint: 'e.g. `swarm.labels: { "storage": "ssd" }`',
        errorClass: 'config',
      });
    }
    if (key.startsWith(RESERVED_LABEL_PREFIX)) {
      throw swarmError('SWARM_INVALID_OPTION', `swarm.labels key "${key}" uses the reserved prefix "${RESERVED_LABEL_PREFIX}"`, {
        hint: `${ROLE_LABEL} and ${ARCH_LABEL} are set automatically; pick another key`,
        errorClass: 'config',
      });
    }
    if (typeof value !== 'string') {
      throw swarmError('SWARM_INVALID_OPTION', `swarm.labels value of "${key}" must be a string`, { errorClass: 'config' });
    }
  }
}

/**
 * The labels a node should carry: its role, its architecture and the user's labels.
 *
 * @example
 * ```ts
 * desiredLabels({ role: 'follower', arch: 'aarch64', user: { storage: 'ssd' } });
 * // { 'cluster-lab.role': 'follower', 'cluster-lab.arch': 'aarch64', storage: 'ssd' }
 * ```
 */
export function desiredLabels(input: {
  role: ClusterRole;
  arch?: string | undefined;
  user?: Record<string, string>;
}): Record<string, string> {
  const labels: Record<string, string> = { ...(input.user ?? {}), [ROLE_LABEL]: input.role };
  if (input.arch) labels[ARCH_LABEL] = input.arch;
  return labels;
}

/**
 * Merges `desired` into a node's current labels; returns `undefined` when nothing changes, so
 * callers skip a Swarm write (each one is a Raft proposal). Labels not in `desired` are kept:
 * they may have been set by hand with `docker node update --label-add`.
 */
export function mergeLabels(
  current: Record<string, string> | undefined,
  desired: Record<string, string>,
): Record<string, string> | undefined {
  const base = current ?? {};
  const changed = Object.entries(desired).some(([k, v]) => base[k] !== v);
  return changed ? { ...base, ...desired } : undefined;
}
