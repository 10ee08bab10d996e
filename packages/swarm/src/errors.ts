import { ClusterLabError, type ErrorClass } from '@cluster-lab/core';

/**
 * Stable error codes of this package (`ClusterLabError.code`). The CLI prints the message and
 * hint; scripts may switch on the code.
 */
export type SwarmErrorCode =
  /** The Docker socket cannot be reached (dockerd not running, wrong path, no permission). */
  | 'DOCKER_UNREACHABLE'
  /** An API call that only managers answer reached a worker or a node outside any swarm. */
  | 'SWARM_NOT_MANAGER'
  /** init/join on a node that is already part of a swarm. */
  | 'SWARM_ALREADY_MEMBER'
  /** leave/inspect on a node that is not part of a swarm. */
  | 'SWARM_NOT_MEMBER'
  /** The node belongs to a swarm other than the one recorded for this cluster. */
  | 'SWARM_OTHER_CLUSTER'
  /** Swarm refused a request as malformed (bad address, bad token format, …). */
  | 'SWARM_BAD_REQUEST'
  /** The join token was rejected. */
  | 'SWARM_BAD_TOKEN'
  /** A node ID that does not exist (any more). */
  | 'SWARM_NODE_NOT_FOUND'
  /** A node update raced with another writer (stale `version`). */
  | 'SWARM_CONFLICT'
  /** The swarm has no Raft leader / not enough managers online. */
  | 'SWARM_NO_QUORUM'
  /** The request would break the Raft quorum (demote/leave). */
  | 'SWARM_QUORUM_AT_RISK'
  /** The last manager would leave while other nodes are still in the swarm. */
  | 'SWARM_LAST_MANAGER'
  /** Swarm is autolocked; a key is needed to unlock it. */
  | 'SWARM_LOCKED'
  /** The join did not complete in time. */
  | 'SWARM_JOIN_TIMEOUT'
  /** Join tokens did not appear in the cluster store in time. */
  | 'SWARM_TOKENS_TIMEOUT'
  /** The cluster store lock for manager slots could not be taken. */
  | 'SWARM_LOCK_TIMEOUT'
  /** An option value is invalid (manager count, address, label). */
  | 'SWARM_INVALID_OPTION'
  /** Any other Docker API failure. */
  | 'DOCKER_API_ERROR';

const TOKEN_PATTERN = /SWMTKN-[\w-]+/g;

/**
 * Removes Swarm join tokens from a text. Error messages from Docker and from this package pass
 * through it, so a token can never reach a log line, an event or a terminal.
 *
 * @example
 * ```ts
 * redactTokens('bad token SWMTKN-1-abc-def'); // 'bad token SWMTKN-<redacted>'
 * ```
 */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_PATTERN, 'SWMTKN-<redacted>');
}

/** Creates a `ClusterLabError` with one of this package's codes; the message is redacted. */
export function swarmError(
  code: SwarmErrorCode,
  message: string,
  options: { hint?: string; errorClass?: ErrorClass; cause?: unknown } = {},
): ClusterLabError {
  return new ClusterLabError(code, redactTokens(message), options);
}

interface ModemError {
  statusCode?: number;
  reason?: string;
  json?: unknown;
  code?: string;
  message?: string;
}

/** The message Docker put in an error response body, without dockerode's "(HTTP code …)" prefix. */
export function dockerMessage(error: unknown): string {
  const e = error as ModemError;
  const json = e?.json as { message?: unknown } | string | null | undefined;
  if (json && typeof json === 'object' && typeof json.message === 'string') return json.message;
  if (typeof json === 'string' && json.trim()) return json.trim();
  return e?.message ?? String(error);
}

/**
 * Maps an error thrown by dockerode (an HTTP status from the Docker API, or a socket error) to a
 * `ClusterLabError` with a stable code and a hint. Docker reuses 503 for several swarm
 * states and changed codes across API versions (406 in old engines), so the message text
 * decides where the status code alone is ambiguous. Already-mapped errors pass through.
 *
 * @param action - what was being done, e.g. `join the swarm`; starts the message.
 * @example
 * ```ts
 * try { await docker.swarmInit(opts); } catch (e) { throw toSwarmError(e, 'initialise the swarm'); }
 * ```
 */
export function toSwarmError(error: unknown, action: string): ClusterLabError {
  if (error instanceof ClusterLabError) return error;
  const e = (error ?? {}) as ModemError;
  const detail = redactTokens(dockerMessage(error)).trim();
  const message = `could not ${action}: ${detail}`;
  const make = (code: SwarmErrorCode, hint: string, errorClass: ErrorClass = 'runtime') =>
    swarmError(code, message, { hint, errorClass, cause: error });

  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES' || e.code === 'ECONNRESET') {
    return make(
      'DOCKER_UNREACHABLE',
      'start dockerd (`systemctl start docker`) and check `docker.socket` in the config points at its unix socket',
      'dependency',
    );
  }
  const text = detail.toLowerCase();
  const status = e.statusCode;
  if (text.includes('swarm is encrypted and needs to be unlocked') || text.includes('is locked')) {
    return make('SWARM_LOCKED', 'unlock it with `docker swarm unlock` (autolock is not supported by cluster-lab)');
  }
  if (text.includes('already part of a swarm')) {
    return make('SWARM_ALREADY_MEMBER', 'run `cluster-lab stop` (or `docker swarm leave`) on this node first');
  }
  if (text.includes('not part of a swarm')) {
    return make('SWARM_NOT_MEMBER', 'this node has not joined a swarm; run `cluster-lab start`');
  }
  if (text.includes('not a swarm manager')) {
    return make('SWARM_NOT_MANAGER', 'run this on a manager node (see `cluster-lab status`)');
  }
  if (text.includes('does not have a leader') || text.includes('too few managers')) {
    return make(
      'SWARM_NO_QUORUM',
      'bring the manager nodes back online; `docker swarm init --force-new-cluster` on a surviving manager recovers a lost quorum',
    );
  }
  if (text.includes('quorum') || text.includes('last manager')) {
    return make('SWARM_QUORUM_AT_RISK', 'add or bring back managers first, or pass `force` knowing the swarm may lose its quorum');
  }
  if (text.includes('join token') || text.includes('invalid token')) {
    return make('SWARM_BAD_TOKEN', 'the tokens in the cluster store are stale; restart the leader so it publishes fresh ones');
  }
  if (text.includes('timeout was reached before node joined') || text.includes('deadline exceeded')) {
    return make('SWARM_JOIN_TIMEOUT', 'check that the manager address is reachable on TCP 2377 over the cluster link');
  }
  if (text.includes('update out of sequence') || status === 409) {
    return make('SWARM_CONFLICT', 'another writer changed the node at the same time; retry');
  }
  if (status === 404) return make('SWARM_NODE_NOT_FOUND', 'the node was removed; list nodes with `cluster-lab status`');
  if (status === 400) return make('SWARM_BAD_REQUEST', "check the advertise/listen addresses are this node's cluster address");
  if (status === 503 || status === 406) return make('SWARM_NOT_MANAGER', 'run this on a manager node (see `cluster-lab status`)');
  return make('DOCKER_API_ERROR', 'see the Docker daemon log (`journalctl -u docker`) for details');
}

/** Whether an error is worth retrying (Raft/election churn, version races), not a caller mistake. */
export function isTransientSwarmError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SWARM_CONFLICT' || code === 'SWARM_NO_QUORUM' || code === 'DOCKER_API_ERROR' || code === 'SWARM_JOIN_TIMEOUT';
}
