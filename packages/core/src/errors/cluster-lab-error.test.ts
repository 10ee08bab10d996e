import { describe, expect, it } from 'vitest';
import { CommandError } from '../command/command-runner.js';
import { ClusterLabError, describeError, exitCodeFor, isClusterLabError } from './cluster-lab-error.js';

describe('ClusterLabError', () => {
  it('carries code, message, hint, class and cause', () => {
    const cause = new Error('EACCES');
    const error = new ClusterLabError('LINK_NOT_FOUND', 'interface "eth9" does not exist', {
      hint: 'use eth0',
      errorClass: 'config',
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ClusterLabError', code: 'LINK_NOT_FOUND', hint: 'use eth0', errorClass: 'config', cause });
    expect(error.message).toBe('interface "eth9" does not exist');
    expect(error.exitCode).toBe(2);
  });

  it('defaults to a runtime error without hint or cause', () => {
    const error = new ClusterLabError('X', 'x');
    expect(error).toMatchObject({ errorClass: 'runtime', hint: undefined, exitCode: 1 });
    expect('cause' in error).toBe(false);
  });

  it('maps error classes to exit codes', () => {
    expect([exitCodeFor('usage'), exitCodeFor('config'), exitCodeFor('dependency'), exitCodeFor('runtime')]).toEqual([2, 2, 3, 1]);
  });

  it('recognises its own errors, look-alikes from another module copy, and CommandError', () => {
    expect(isClusterLabError(new ClusterLabError('X', 'x'))).toBe(true);
    const lookAlike = Object.assign(new Error('x'), { code: 'X', errorClass: 'runtime' });
    expect(isClusterLabError(lookAlike)).toBe(true);
    const commandError = new CommandError({
      command: 'dnsmasq',
      exitCode: undefined,
      stdout: '',
      stderr: '',
      timedOut: false,
      isCanceled: false,
      notFound: true,
      durationMs: 0,
    });
    expect(isClusterLabError(commandError)).toBe(true);
    expect(commandError).toMatchObject({ code: 'COMMAND_NOT_FOUND', errorClass: 'dependency' });
    expect(isClusterLabError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isClusterLabError({ code: 'X', errorClass: 'runtime' })).toBe(false);
  });

  it('describes any thrown value in one line', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('text')).toBe('text');
    expect(describeError(42)).toBe('42');
  });
});
