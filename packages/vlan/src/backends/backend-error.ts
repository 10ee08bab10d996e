import { ClusterLabError, type ErrorClass } from '@cluster-lab/core';

/**
 * Stable codes of the errors thrown by the network backends and the link probe. The CLI maps
 * them to exit codes through their error class; tests and callers match on the code.
 */
export type BackendErrorCode =
  | 'INVALID_VLAN_ID'
  | 'INVALID_VNI'
  | 'INVALID_PORT'
  | 'INVALID_INTERFACE_NAME'
  | 'INVALID_ADDRESS'
  | 'INVALID_MTU'
  | 'VLAN_NAME_TOO_LONG'
  | 'VXLAN_PORT_RESERVED'
  | 'VXLAN_GROUP_AND_PEERS'
  | 'UPLINK_NOT_FOUND'
  | 'CLUSTER_NIC_NOT_FOUND'
  | 'MTU_TOO_LARGE'
  | 'LINK_CONFLICT'
  | 'KERNEL_NO_8021Q'
  | 'KERNEL_NO_VXLAN'
  | 'UNKNOWN_BACKEND'
  | 'PROBE_ADDRESS_IN_USE'
  | 'PROBE_LINK_MISSING'
  | 'PROBE_LINK_DOWN'
  | 'PING_NOT_FOUND';

/**
 * A {@link ClusterLabError} raised by `@cluster-lab/vlan`, with a {@link BackendErrorCode}.
 *
 * @example
 * ```ts
 * try {
 *   await backend.ensure();
 * } catch (error) {
 *   if (error instanceof BackendError && error.code === 'KERNEL_NO_8021Q') console.error(error.hint);
 * }
 * ```
 */
export class BackendError extends ClusterLabError {
  declare readonly code: BackendErrorCode;

  constructor(code: BackendErrorCode, message: string, options: { hint: string; errorClass: ErrorClass; cause?: unknown }) {
    super(code, message, options);
    this.name = 'BackendError';
  }
}
