import { ClusterLabError } from '@cluster-lab/core';

/**
 * Default directory holding one sub-directory per lab (state file, UTS namespace files,
 * dockerd sockets and data). Short on purpose: dockerd's unix socket lives below it and socket
 * paths must stay under 108 bytes.
 */
export const LAB_STATE_ROOT = '/run/cluster-lab/lab';

/** Where `ip netns add` puts its namespace files; node commands enter `<NETNS_DIR>/<netns>`. */
export const NETNS_DIR = '/run/netns';

/** Every namespace a lab creates starts with this, so a lab's leftovers are recognisable on the host. */
export const LAB_NETNS_PREFIX = 'cl-';

/** Longest unix socket path the kernel accepts (`sun_path` is 108 bytes including the NUL). */
export const MAX_UNIX_SOCKET_PATH = 107;

const MAX_NAME_LENGTH = 16;

/** Checks a lab name: lower-case letters, digits and dashes, 1–16 characters. */
export function assertLabName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new ClusterLabError('LAB_BAD_NAME', `lab name "${name}" must be 1–${MAX_NAME_LENGTH} lower-case letters, digits or dashes`, {
      hint: 'use a short name such as "dhcp" or "swarm"; a unique suffix is added for you',
      errorClass: 'usage',
    });
  }
}

/** Names of everything one lab creates, derived from its id (`<name>-<suffix>`). */
export interface LabNames {
  id: string;
  stateDir: string;
  /** Namespace holding the switch bridge(s). */
  switchNetns: string;
  /** Namespace of the optional home-router stand-in. */
  routerNetns: string;
  /** Namespace of node `i` (1-based). */
  nodeNetns(i: number): string;
}

/** Derives every name of lab `id` below `stateRoot`. */
export function labNames(id: string, stateRoot: string): LabNames {
  const base = `${LAB_NETNS_PREFIX}${id}`;
  return {
    id,
    stateDir: `${stateRoot}/${id}`,
    switchNetns: `${base}-sw`,
    routerNetns: `${base}-rt`,
    nodeNetns: (i) => `${base}-n${i}`,
  };
}

/** File name of the lab's cluster secret inside its state directory. */
export const LAB_SECRET_FILE = 'secret';

/** The cluster secret file of the lab whose state dir is `stateDir` (mode 0600, written by `createLab`). */
export function labSecretFile(stateDir: string): string {
  return `${stateDir}/${LAB_SECRET_FILE}`;
}

/** Throws when a unix socket path is too long for the kernel. */
export function assertSocketPath(path: string): void {
  if (Buffer.byteLength(path) > MAX_UNIX_SOCKET_PATH) {
    throw new ClusterLabError(
      'LAB_SOCKET_PATH_TOO_LONG',
      `socket path "${path}" is ${Buffer.byteLength(path)} bytes; the limit is ${MAX_UNIX_SOCKET_PATH}`,
      {
        hint: 'choose a shorter `stateRoot` or lab name',
        errorClass: 'usage',
      },
    );
  }
}
