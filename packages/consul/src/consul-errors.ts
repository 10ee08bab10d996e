import { ClusterLabError, type ClusterLabErrorOptions } from '@cluster-lab/core';

/**
 * Stable error codes raised by `@cluster-lab/consul`. The CLI prints the message and hint and
 * picks the exit code from the error class.
 */
export type ConsulErrorCode =
  | 'CONSUL_NO_LEADER'
  | 'CONSUL_UNREACHABLE'
  | 'CONSUL_PERMISSION_DENIED'
  | 'CONSUL_HTTP_ERROR'
  | 'CONSUL_SERVER_ERROR'
  | 'CONSUL_BAD_REQUEST'
  | 'CONSUL_RATE_LIMITED'
  | 'CONSUL_UNAVAILABLE'
  | 'CONSUL_VALUE_TOO_LARGE'
  | 'CONSUL_SESSION_NOT_FOUND'
  | 'CONSUL_LOCK_TIMEOUT'
  | 'CONSUL_BAD_ADDRESS'
  | 'CONSUL_NOT_INSTALLED'
  | 'CONSUL_IMAGE_UNAVAILABLE'
  | 'CONSUL_UNSUPPORTED_ARCH'
  | 'CONSUL_START_FAILED'
  | 'CONSUL_TOO_OLD'
  | 'CONSUL_VERSION_UNKNOWN'
  | 'CONSUL_INSTALL_FAILED'
  | 'CONSUL_ACL_NOT_READY';

/** Creates a {@link ClusterLabError} with one of the {@link ConsulErrorCode}s. */
export function consulError(code: ConsulErrorCode, message: string, options: ClusterLabErrorOptions = {}): ClusterLabError {
  return new ClusterLabError(code, message, options);
}

/** Formats milliseconds the way our messages do: whole seconds when ≥ 1 s ("30 s"), else "250 ms". */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
