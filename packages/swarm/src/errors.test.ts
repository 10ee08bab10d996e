import { ClusterLabError } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { codeForStatus, isTransientSwarmError, redactTokens, SWARM_CALLS, toSwarmError } from './errors.js';

/** Builds an error shaped like docker-modem's. */
function modemError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}

describe('toSwarmError', () => {
  it.each([
    [
      'join',
      503,
      'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.',
      'SWARM_ALREADY_MEMBER',
    ],
    ['init', 406, 'node is already part of a Swarm', 'SWARM_ALREADY_MEMBER'],
    ['leave', 503, 'This node is not part of a swarm', 'SWARM_NOT_MEMBER'],
    ['listNodes', 503, 'This node is not part of a swarm', 'SWARM_NOT_MEMBER'],
    [
      'listNodes',
      503,
      "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state.",
      'SWARM_NOT_MANAGER',
    ],
    [
      'listNodes',
      500,
      "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online.",
      'SWARM_NO_QUORUM',
    ],
    [
      'leave',
      503,
      'You are attempting to leave the swarm on a node that is participating as a manager. Without a Raft quorum your swarm will be inaccessible.',
      'SWARM_QUORUM_AT_RISK',
    ],
    [
      'updateNode',
      400,
      'rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm',
      'SWARM_QUORUM_AT_RISK',
    ],
    [
      'removeNode',
      400,
      "rpc error: code = FailedPrecondition desc = can't remove member x: this would result in a loss of quorum",
      'SWARM_QUORUM_AT_RISK',
    ],
    ['removeNode', 400, "rpc error: code = FailedPrecondition desc = node x is not down and can't be removed", 'SWARM_BAD_REQUEST'],
    ['join', 400, 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster', 'SWARM_BAD_TOKEN'],
    [
      'join',
      500,
      'Timeout was reached before node joined. The attempt to join the swarm will continue in the background.',
      'SWARM_JOIN_TIMEOUT',
    ],
    ['updateNode', 500, 'rpc error: code = Unknown desc = update out of sequence', 'SWARM_CONFLICT'],
    ['updateNode', 409, 'conflict', 'SWARM_CONFLICT'],
    ['inspectNode', 404, 'node abc not found', 'SWARM_NODE_NOT_FOUND'],
    ['init', 400, 'invalid ListenAddr "x": address x: missing port in address', 'SWARM_BAD_REQUEST'],
    ['init', 503, 'Swarm is encrypted and needs to be unlocked before it can be used.', 'SWARM_LOCKED'],
    ['inspectSwarm', 503, 'Swarm is encrypted and needs to be unlocked before it can be used.', 'SWARM_LOCKED'],
    ['join', 500, 'something else broke', 'DOCKER_API_ERROR'],
    ['info', 503, 'a status the call does not declare', 'DOCKER_API_ERROR'],
  ] as const)('%s: maps HTTP %i "%s" to %s', (call, status, message, code) => {
    const mapped = toSwarmError(modemError(status, message), 'do the thing', SWARM_CALLS[call]);
    expect(mapped).toBeInstanceOf(ClusterLabError);
    expect(mapped.code).toBe(code);
    expect(mapped.message).toBe(`could not do the thing: ${message}`);
    expect(mapped.hint).toBeTruthy();
  });

  it('declares each status once per call: one status can mean different things for different calls', () => {
    expect(codeForStatus(SWARM_CALLS.init, 503, 'This node is already part of a swarm')).toBe('SWARM_ALREADY_MEMBER');
    expect(codeForStatus(SWARM_CALLS.leave, 503, 'This node is not part of a swarm')).toBe('SWARM_NOT_MEMBER');
    expect(codeForStatus(SWARM_CALLS.listNodes, 503, 'anything else')).toBe('SWARM_NOT_MANAGER');
    expect(codeForStatus(SWARM_CALLS.inspectSwarm, 404, 'no such swarm')).toBe('SWARM_NOT_MEMBER');
    expect(codeForStatus(SWARM_CALLS.inspectNode, 404, 'node x not found')).toBe('SWARM_NODE_NOT_FOUND');
  });

  it.each(['ENOENT', 'ECONNREFUSED', 'EACCES'])('maps socket error %s to DOCKER_UNREACHABLE (dependency class, exit 3)', (code) => {
    const error = Object.assign(new Error(`connect ${code} /run/docker.sock`), { code });
    const mapped = toSwarmError(error, 'read the Docker engine info', SWARM_CALLS.info);
    expect(mapped.code).toBe('DOCKER_UNREACHABLE');
    expect(mapped.errorClass).toBe('dependency');
    expect(mapped.exitCode).toBe(3);
    expect(mapped.message).toBe(`could not read the Docker engine info: connect ${code} /run/docker.sock`);
  });

  it('never lets a join token through into the message', () => {
    const mapped = toSwarmError(
      modemError(400, 'token SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx rejected'),
      'join',
      SWARM_CALLS.join,
    );
    expect(mapped.message).not.toContain('3pu6hszjas');
    expect(mapped.message).toContain('SWMTKN-<redacted>');
  });

  it('passes ClusterLabErrors through unchanged', () => {
    const original = new ClusterLabError('X', 'y');
    expect(toSwarmError(original, 'z', SWARM_CALLS.info)).toBe(original);
  });
});

describe('redactTokens', () => {
  it('replaces every token', () => {
    expect(redactTokens('a SWMTKN-1-abc-def b SWMTKN-1-x-y')).toBe('a SWMTKN-<redacted> b SWMTKN-<redacted>');
  });
});

describe('isTransientSwarmError', () => {
  it('retries races and elections, not caller mistakes', () => {
    expect(isTransientSwarmError(toSwarmError(modemError(500, 'update out of sequence'), 'x', SWARM_CALLS.updateNode))).toBe(true);
    expect(isTransientSwarmError(toSwarmError(modemError(500, 'The swarm does not have a leader'), 'x', SWARM_CALLS.listNodes))).toBe(true);
    expect(isTransientSwarmError(toSwarmError(modemError(400, 'A valid join token is necessary'), 'x', SWARM_CALLS.join))).toBe(false);
    expect(isTransientSwarmError(toSwarmError(modemError(404, 'node x not found'), 'x', SWARM_CALLS.inspectNode))).toBe(false);
  });
});
