import type { ConsulErrorCode } from '../consul-errors.js';

/** How one HTTP status of a Consul call fails: its own error code, the reason, the fix. */
export interface ConsulFailure {
  code: ConsulErrorCode;
  /** Short reason for the message, e.g. `permission denied (ACL)`. */
  reason: string;
  /** Only when the body matches: for statuses Consul uses for more than one thing (500). */
  body?: RegExp;
  /** The fix; `{token}` picks the hint by whether the client sends an ACL token. */
  hint: string | { withToken: string; withoutToken: string };
  errorClass?: 'config';
}

/**
 * Per-call status map, as dockerode declares them (`{ 200: true, 404: 'no such container' }`):
 * `true` is success (a 404 marked `true` reads as "absent"), a {@link ConsulFailure} (or a list,
 * first match by `body` wins) is that call's error. A status the map does not name is
 * `CONSUL_HTTP_ERROR`.
 */
export type ConsulStatusMap = Readonly<Record<number, true | ConsulFailure | readonly ConsulFailure[]>>;

const denied: ConsulFailure = {
  code: 'CONSUL_PERMISSION_DENIED',
  reason: 'permission denied (ACL)',
  hint: {
    withToken:
      "the token (derived from the cluster secret, or consul.aclToken) is unknown to the cluster or lacks permission: does this node hold the cluster's secret? compare `sudo cluster-lab secret fingerprint` with another node",
    withoutToken: 'the cluster has ACLs enabled: give this node the cluster secret (secretFile), or set consul.aclToken',
  },
  errorClass: 'config',
};
const noLeader: ConsulFailure = {
  code: 'CONSUL_NO_LEADER',
  reason: 'no cluster leader',
  body: /no cluster leader/i,
  hint: 'no Consul server is elected yet; wait for the leader (waitForLeader) or check the servers',
};
const serverError: ConsulFailure = { code: 'CONSUL_SERVER_ERROR', reason: 'internal error', hint: 'see the Consul agent log' };
const badRequest: ConsulFailure = {
  code: 'CONSUL_BAD_REQUEST',
  reason: 'bad request',
  hint: 'Consul refused the request as malformed: a Cluster Lab bug or an agent version it does not support',
};
const rateLimited: ConsulFailure = {
  code: 'CONSUL_RATE_LIMITED',
  reason: 'rate limited',
  hint: 'the servers throttle requests (limits.request_limits); retry later',
};
const unavailable: ConsulFailure = {
  code: 'CONSUL_UNAVAILABLE',
  reason: 'service unavailable',
  hint: 'the agent is starting or leaving; retry in a moment',
};

/** Statuses every endpoint can answer with. */
const COMMON = { 400: badRequest, 403: denied, 429: rateLimited, 500: [noLeader, serverError], 503: unavailable } as const;

/** The status maps of the calls {@link ConsulClient} makes, one per Consul endpoint family. */
export const CONSUL_STATUSES = {
  /** `GET /v1/status/leader`, `/v1/agent/members`, `/v1/agent/self`, `/v1/health/node`, catalog reads. */
  read: { ...COMMON, 200: true },
  /** `GET /v1/kv/:key` — 404 is an absent key. */
  kvRead: { ...COMMON, 200: true, 404: true },
  /** `PUT`/`DELETE /v1/kv/:key` (also `?cas`, `?acquire`, `?release`). */
  kvWrite: {
    ...COMMON,
    200: true,
    413: {
      code: 'CONSUL_VALUE_TOO_LARGE',
      reason: 'value too large',
      hint: 'Consul KV values are limited to 512 KiB (limits.kv_max_value_size)',
    },
  },
  /** `PUT /v1/session/create`, `/v1/session/destroy/:id` (destroying an absent session succeeds). */
  session: { ...COMMON, 200: true },
  /** `PUT /v1/session/renew/:id` — 404 is a session that expired or was destroyed. */
  sessionRenew: {
    ...COMMON,
    200: true,
    404: {
      code: 'CONSUL_SESSION_NOT_FOUND',
      reason: 'session not found',
      hint: 'the session expired (TTL) or was destroyed; create a new one',
    },
  },
  /** `PUT /v1/agent/service/register`. */
  serviceRegister: { ...COMMON, 200: true },
  /** `PUT /v1/agent/force-leave/:node` (a node the agent does not know is treated as gone by the caller). */
  forceLeave: { ...COMMON, 200: true },
  /** `PUT /v1/agent/service/deregister/:id` — 404: already gone, which is what we asked for. */
  serviceDeregister: { ...COMMON, 200: true, 404: true },
} as const satisfies Record<string, ConsulStatusMap>;

/** The failure `map` declares for `status` and `body`, `true` for success, or undefined when the map does not name the status. */
export function lookupStatus(map: ConsulStatusMap, status: number, body: string): true | ConsulFailure | undefined {
  const entry = map[status];
  if (entry === undefined || entry === true) return entry;
  const list: readonly ConsulFailure[] = Array.isArray(entry) ? entry : [entry as ConsulFailure];
  return list.find((f) => !f.body || f.body.test(body)) ?? list.at(-1);
}
