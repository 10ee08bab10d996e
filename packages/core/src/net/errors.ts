import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** Thrown when a link that must exist does not. */
export class LinkNotFoundError extends ClusterLabError {
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

/** Thrown when creating a link whose name is taken. */
export class LinkExistsError extends ClusterLabError {
  constructor(link: string) {
    super('LINK_EXISTS', `network interface "${link}" already exists`, {
      hint: 'delete it first or choose another name',
    });
    this.name = 'LinkExistsError';
  }
}
