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
  /** The wait for the join tokens was cancelled (the start was aborted). */
  | 'SWARM_JOIN_CANCELLED'
  /** The swarm record in the cluster store is not valid JSON. */
  | 'SWARM_RECORD_INVALID'
  /** The swarm record is there, but the join token for the role this node takes is not. */
  | 'SWARM_TOKEN_MISSING'
  /** A sealed join token in the cluster store does not open with this node's key: its secret differs from the cluster's. */
  | 'SWARM_TOKEN_SEALED_WITH_ANOTHER_SECRET'
  /** A join token in the cluster store is not sealed, but this node has the cluster secret (the leader runs `security: open`). */
  | 'SWARM_TOKEN_NOT_SEALED'
  /** A join token in the cluster store is sealed, but this node has no cluster secret (`security: open`). */
  | 'SWARM_TOKEN_SEALED'
  /** The swarm record is there, but no manager address to join through. */
  | 'SWARM_MANAGERS_MISSING'
  /** The cluster store lock for manager slots could not be taken. */
  | 'SWARM_LOCK_TIMEOUT'
  /** A node was told to join as manager without holding a manager slot. */
  | 'SWARM_NO_MANAGER_SLOT'
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
 * Where Docker answers one status for several swarm states (503 for "not in a swarm", "not a
 * manager", "locked" …), the message tells them apart: the first fragment the message contains
 * (case-insensitive) decides, else `otherwise`.
 */
export interface MessageRules {
  byMessage: ReadonlyArray<readonly [fragment: string, code: SwarmErrorCode]>;
  otherwise: SwarmErrorCode;
}

/**
 * What each error status of one Docker API call means, declared per call in the style of
 * dockerode's own status maps (`{ 406: 'node is already part of a swarm' }`). Any status not
 * listed is a `DOCKER_API_ERROR`.
 */
export type StatusMap = Readonly<Partial<Record<number, SwarmErrorCode | MessageRules>>>;

const LOCKED = [
  ['needs to be unlocked', 'SWARM_LOCKED'],
  ['is locked', 'SWARM_LOCKED'],
] as const;
const NO_LEADER = [
  ['does not have a leader', 'SWARM_NO_QUORUM'],
  ['too few managers', 'SWARM_NO_QUORUM'],
] as const;
const QUORUM = [
  ['quorum', 'SWARM_QUORUM_AT_RISK'],
  ['last manager', 'SWARM_QUORUM_AT_RISK'],
] as const;
/** 503 from a call only managers answer. */
const MANAGERS_ONLY: MessageRules = {
  byMessage: [...LOCKED, ['not part of a swarm', 'SWARM_NOT_MEMBER'], ...NO_LEADER],
  otherwise: 'SWARM_NOT_MANAGER',
};
/** 500 from a call the Raft leader serves. */
const RAFT: MessageRules = { byMessage: [...NO_LEADER, ['update out of sequence', 'SWARM_CONFLICT']], otherwise: 'DOCKER_API_ERROR' };

/**
 * The status maps of the Docker API calls this package makes (Docker Engine API; engines before
 * 1.13 answered 406 where current ones answer 503).
 */
export const SWARM_CALLS = {
  /** `GET /info`: every node answers. */
  info: {},
  /** `GET /nodes`. */
  listNodes: { 500: RAFT, 503: MANAGERS_ONLY },
  /** `GET /nodes/{id}`. */
  inspectNode: { 404: 'SWARM_NODE_NOT_FOUND', 500: RAFT, 503: MANAGERS_ONLY },
  /** `POST /nodes/{id}/update?version=N`. */
  updateNode: {
    400: { byMessage: QUORUM, otherwise: 'SWARM_BAD_REQUEST' },
    404: 'SWARM_NODE_NOT_FOUND',
    409: 'SWARM_CONFLICT',
    500: RAFT,
    503: MANAGERS_ONLY,
  },
  /** `DELETE /nodes/{id}`. */
  removeNode: { 400: { byMessage: QUORUM, otherwise: 'SWARM_BAD_REQUEST' }, 404: 'SWARM_NODE_NOT_FOUND', 500: RAFT, 503: MANAGERS_ONLY },
  /** `GET /swarm`. */
  inspectSwarm: { 404: 'SWARM_NOT_MEMBER', 500: RAFT, 503: MANAGERS_ONLY },
  /** `POST /swarm/init`. */
  init: { 400: 'SWARM_BAD_REQUEST', 406: 'SWARM_ALREADY_MEMBER', 503: { byMessage: LOCKED, otherwise: 'SWARM_ALREADY_MEMBER' } },
  /** `POST /swarm/join`. */
  join: {
    400: {
      byMessage: [
        ['join token', 'SWARM_BAD_TOKEN'],
        ['invalid token', 'SWARM_BAD_TOKEN'],
      ],
      otherwise: 'SWARM_BAD_REQUEST',
    },
    406: 'SWARM_ALREADY_MEMBER',
    500: {
      byMessage: [
        ['timeout was reached before node joined', 'SWARM_JOIN_TIMEOUT'],
        ['deadline exceeded', 'SWARM_JOIN_TIMEOUT'],
        ['join token', 'SWARM_BAD_TOKEN'],
        ...NO_LEADER,
      ],
      otherwise: 'DOCKER_API_ERROR',
    },
    503: { byMessage: LOCKED, otherwise: 'SWARM_ALREADY_MEMBER' },
  },
  /** `GET /networks/{id}`: a missing network is an answer, not an error (see `gatewayBridgeExists`). */
  inspectNetwork: {},
  /** `DELETE /networks/{id}`: 403 while containers are attached ("has active endpoints"). */
  removeNetwork: {},
  /** `POST /swarm/leave`. */
  leave: { 406: 'SWARM_NOT_MEMBER', 500: RAFT, 503: { byMessage: [...LOCKED, ...QUORUM], otherwise: 'SWARM_NOT_MEMBER' } },
} as const satisfies Record<string, StatusMap>;

/** The hint each mapped code carries, and its error class when not `runtime`. */
const MAPPED: Partial<Record<SwarmErrorCode, { hint: string; errorClass?: ErrorClass }>> = {
  DOCKER_UNREACHABLE: {
    hint: 'start dockerd (`systemctl start docker`) and check `docker.socket` in the config points at its unix socket',
    errorClass: 'dependency',
  },
  SWARM_LOCKED: { hint: 'unlock it with `docker swarm unlock` (autolock is not supported by cluster-lab)' },
  SWARM_ALREADY_MEMBER: { hint: 'run `cluster-lab stop` (or `docker swarm leave`) on this node first' },
  SWARM_NOT_MEMBER: { hint: 'this node has not joined a swarm; run `cluster-lab start`' },
  SWARM_NOT_MANAGER: { hint: 'run this on a manager node (see `cluster-lab status`)' },
  SWARM_NO_QUORUM: {
    hint: 'bring the manager nodes back online; `docker swarm init --force-new-cluster` on a surviving manager recovers a lost quorum',
  },
  SWARM_QUORUM_AT_RISK: { hint: 'add or bring back managers first, or pass `force` knowing the swarm may lose its quorum' },
  SWARM_BAD_TOKEN: {
    hint: "the tokens in the cluster store are stale: run `cluster-lab health` on a manager (in the cluster's one Consul and swarm); `initManager` on a manager of the swarm republishes the tokens and the record (docs/troubleshooting.md)",
  },
  SWARM_JOIN_TIMEOUT: { hint: 'check that the manager address is reachable on TCP 2377 over the cluster link' },
  SWARM_CONFLICT: { hint: 'another writer changed the node at the same time; retry' },
  SWARM_NODE_NOT_FOUND: { hint: 'the node was removed; list nodes with `cluster-lab status`' },
  SWARM_BAD_REQUEST: { hint: "check the advertise/listen addresses are this node's cluster address" },
  DOCKER_API_ERROR: { hint: 'see the Docker daemon log (`journalctl -u docker`) for details' },
};

/** The code `statuses` gives a response with `status` and Docker's `message`. */
export function codeForStatus(statuses: StatusMap, status: number | undefined, message: string): SwarmErrorCode {
  const entry = status === undefined ? undefined : statuses[status];
  if (entry === undefined) return 'DOCKER_API_ERROR';
  if (typeof entry === 'string') return entry;
  const text = message.toLowerCase();
  return entry.byMessage.find(([fragment]) => text.includes(fragment))?.[1] ?? entry.otherwise;
}

/**
 * Maps an error thrown by dockerode (an HTTP status from the Docker API, or a socket error) to a
 * `ClusterLabError` with a stable code and a hint, by the call's declared {@link StatusMap}
 * (one of {@link SWARM_CALLS}). Already-mapped errors pass through.
 *
 * @param action - what was being done, e.g. `join the swarm`; starts the message.
 * @example
 * ```ts
 * try { await docker.swarmInit(opts); } catch (e) { throw toSwarmError(e, 'initialise the swarm', SWARM_CALLS.init); }
 * ```
 */
export function toSwarmError(error: unknown, action: string, statuses: StatusMap): ClusterLabError {
  if (error instanceof ClusterLabError) return error;
  const e = (error ?? {}) as ModemError;
  const detail = redactTokens(dockerMessage(error)).trim();
  const socketFailure = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES' || e.code === 'ECONNRESET';
  const code = socketFailure ? 'DOCKER_UNREACHABLE' : codeForStatus(statuses, e.statusCode, detail);
  const { hint, errorClass = 'runtime' } = MAPPED[code] ?? { hint: 'see the Docker daemon log (`journalctl -u docker`) for details' };
  return swarmError(code, `could not ${action}: ${detail}`, { hint, errorClass, cause: error });
}

/** Whether an error is worth retrying (Raft/election churn, version races), not a caller mistake. */
export function isTransientSwarmError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SWARM_CONFLICT' || code === 'SWARM_NO_QUORUM' || code === 'DOCKER_API_ERROR' || code === 'SWARM_JOIN_TIMEOUT';
}
