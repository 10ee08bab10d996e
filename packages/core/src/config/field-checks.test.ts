import { describe, expect, it } from 'vitest';
import { commandProblem, controlCharacterProblem, safePathProblem, tokenProblem } from './field-checks.js';

describe('controlCharacterProblem', () => {
  it.each(['\n', '\r', '\t', '\0', '\u001b', '\u007f', '\u0085', '\u2028'])('refuses %j', (c) => {
    expect(controlCharacterProblem(`a${c}b`)).toContain('must not contain control characters');
  });
  it('accepts plain text, spaces and non-ASCII letters', () => {
    expect(controlCharacterProblem('rack 1 – Küche')).toBeUndefined();
  });
});

describe('safePathProblem', () => {
  it.each(['/var/lib/cluster-lab', '/etc/cluster-lab/secret', '/srv/a_b.c+d@e:f~g', '/var/lib/cluster-lab/'])('accepts %s', (p) => {
    expect(safePathProblem(p)).toBeUndefined();
  });
  it.each([
    ['/var/lib/cluster-lab\ndhcp-script=/tmp/x', 'must not contain control characters'],
    ['var/lib', 'must be an absolute path'],
    ['', 'must be an absolute path'],
    ['/', 'must not be the root directory /'],
    ['//', 'must not be the root directory /'],
    ['/var/..', 'must not contain "." or ".." segments'],
    ['/var/./lib', 'must not contain "." or ".." segments'],
    ['/var/lib/my state', 'may only contain letters, digits'],
    ['/var/lib/x#y', 'may only contain letters, digits'],
    ['/var/lib/"x"', 'may only contain letters, digits'],
    ['/var/lib/a,b', 'may only contain letters, digits'],
    [`/${'a'.repeat(4095)}`, 'Linux allows at most 4095'],
  ])('refuses %j', (p, problem) => {
    expect(safePathProblem(p)).toContain(problem);
  });
});

describe('commandProblem', () => {
  it.each(['consul', 'consul-1.8', 'consul_dev', '/usr/local/bin/consul'])('accepts %s', (c) => {
    expect(commandProblem(c)).toBeUndefined();
  });
  it.each([
    ['bin/consul', 'must be a command name'],
    ['-consul', 'must be a command name'],
    ['consul agent', 'must be a command name'],
    ['consul\n', 'must not contain control characters'],
    ['/', 'must not be the root directory /'],
  ])('refuses %j', (c, problem) => {
    expect(commandProblem(c)).toContain(problem);
  });
});

describe('tokenProblem', () => {
  it('accepts a UUID', () => expect(tokenProblem('0b5bca55-6a7d-4ac4-9e3b-2f5f2a1d9e11')).toBeUndefined());
  it.each([
    ['a b', 'printable ASCII without spaces'],
    ['tok\r\nX-Evil: 1', 'must not contain control characters'],
    ['tökén', 'printable ASCII without spaces'],
  ])('refuses %j', (t, problem) => expect(tokenProblem(t)).toContain(problem));
});

describe('commandProblem with an absolute path', () => {
  it('allows any printable character (the path only reaches argv) but not control characters or ..', () => {
    expect(commandProblem('/opt/My Tools/consul')).toBeUndefined();
    expect(commandProblem('/opt/../consul')).toContain('must not contain "." or ".." segments');
    expect(commandProblem('/opt/consul\n--dev')).toContain('must not contain control characters');
  });
});
