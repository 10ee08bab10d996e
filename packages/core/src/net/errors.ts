import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** Thrown when a link that must exist does not. */
export class LinkNotFoundError extends ClusterLabError {
  /** Name of the missing link. */
  readonly link: string;
  constructor(link: string, netns?: string, available: string[] = []) {
    super('LINK_NOT_FOUND', `network interface "${link}" does not exist${netns ? ` in namespace ${netns}` : ''}`, {
      hint: available.length ? `use one of: ${available.join(', ')}` : 'check the interface name with `ip link show`',
      errorClass: 'config',
    });
    this.name = 'LinkNotFoundError';
    this.link = link;
  }
}

/** Thrown when creating (or renaming to) a link whose name is taken. */
export class LinkExistsError extends ClusterLabError {
  /** Name that is already taken. */
  readonly link: string;
  constructor(link: string) {
    super('LINK_EXISTS', `network interface "${link}" already exists`, {
      hint: 'delete it first or choose another name',
    });
    this.name = 'LinkExistsError';
    this.link = link;
  }
}

/** Thrown when a network namespace named in an operation does not exist. */
export class NetnsNotFoundError extends ClusterLabError {
  /** Name of the missing namespace. */
  readonly netns: string;
  constructor(netns: string) {
    super('NETNS_NOT_FOUND', `network namespace "${netns}" does not exist`, {
      hint: 'create it with `ip netns add` first (see `ip netns list`)',
    });
    this.name = 'NetnsNotFoundError';
    this.netns = netns;
  }
}
