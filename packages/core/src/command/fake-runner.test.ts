import { describe, expect, it } from 'vitest';
import { CommandError, formatCommand, tail } from './command-runner.js';
import { FakeRunner } from './fake-runner.js';
import { PrefixedRunner } from './prefixed-runner.js';

describe('FakeRunner', () => {
  it('answers scripted calls by exact args and records them in order', async () => {
    const runner = new FakeRunner().on('ip', ['-j', 'link', 'show'], { stdout: '[]' });
    const result = await runner.run('ip', ['-j', 'link', 'show'], { timeoutMs: 5 });
    expect(result).toEqual({ command: 'ip -j link show', exitCode: 0, stdout: '[]', stderr: '', durationMs: 0 });
    expect(runner.commands()).toEqual(['ip -j link show']);
    expect(runner.calls[0]).toMatchObject({ kind: 'run', file: 'ip', args: ['-j', 'link', 'show'], options: { timeoutMs: 5 } });
  });

  it('matches an args prefix and a predicate', async () => {
    const runner = new FakeRunner()
      .on('ip', { prefix: ['link', 'add'] }, { stdout: 'prefix' })
      .on('dnsmasq', (args) => args.includes('--test'), { stdout: 'predicate' });
    expect((await runner.run('ip', ['link', 'add', 'br0', 'type', 'bridge'])).stdout).toBe('prefix');
    expect((await runner.run('dnsmasq', ['--conf-file=/x', '--test'])).stdout).toBe('predicate');
    await expect(runner.run('ip', ['link', 'del', 'br0'])).rejects.toThrow(/unexpected run `ip link del br0`/);
  });

  it('does not match an exact matcher with extra args', async () => {
    const runner = new FakeRunner().on('ip', ['link'], {});
    await expect(runner.run('ip', ['link', 'show'])).rejects.toThrow('unexpected run `ip link show`');
  });

  it('lets a once() entry answer first, then falls back to the standing entry', async () => {
    const runner = new FakeRunner().on('ip', ['addr'], { stdout: 'later' }).once('ip', ['addr'], { stdout: 'first' });
    const out = [];
    for (let i = 0; i < 3; i++) out.push((await runner.run('ip', ['addr'])).stdout);
    expect(out).toEqual(['first', 'later', 'later']);
  });

  it('stops answering a once() entry after its count and fails loudly, naming command and script', async () => {
    const runner = new FakeRunner().once('udhcpc', { prefix: ['-i'] }, { stdout: 'lease' }, 2);
    await runner.run('udhcpc', ['-i', 'eth0']);
    await runner.run('udhcpc', ['-i', 'eth0']);
    const error = await runner.run('udhcpc', ['-i', 'eth0']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('FakeRunner: unexpected run `udhcpc -i eth0`\nscripted run calls:\n  udhcpc -i …');
    expect(runner.commands()).toHaveLength(3);
  });

  it('says "(none)" when nothing was scripted', async () => {
    await expect(new FakeRunner().run('arping', ['-D', '192.168.200.1'])).rejects.toThrow(
      'FakeRunner: unexpected run `arping -D 192.168.200.1`\nscripted run calls:\n  (none)',
    );
  });

  it('computes replies from the call, also asynchronously', async () => {
    const runner = new FakeRunner().on('echo', { prefix: [] }, async (call) => ({ stdout: call.args.join('+') }));
    expect((await runner.run('echo', ['a', 'b c'])).stdout).toBe('a+b c');
    expect(runner.commands()).toEqual(["echo a 'b c'"]);
  });

  it('throws CommandError for a non-zero exit, or resolves with reject: false', async () => {
    const runner = new FakeRunner().on('ip', { prefix: ['link'] }, { exitCode: 2, stderr: 'RTNETLINK answers: File exists\n' });
    const error = (await runner.run('ip', ['link', 'add', 'x']).catch((e: unknown) => e)) as CommandError;
    expect(error).toBeInstanceOf(CommandError);
    expect(error.message).toBe('`ip link add x` failed (exit code 2): RTNETLINK answers: File exists');
    expect(error).toMatchObject({ exitCode: 2, code: 'COMMAND_FAILED', errorClass: 'runtime', notFound: false, timedOut: false });
    const result = await runner.run('ip', ['link', 'add', 'x'], { reject: false });
    expect(result.exitCode).toBe(2);
  });

  it('simulates a missing program even with reject: false', async () => {
    const runner = new FakeRunner().on('dnsmasq', { prefix: [] }, { notFound: true });
    const error = (await runner.run('dnsmasq', ['--version'], { reject: false }).catch((e: unknown) => e)) as CommandError;
    expect(error).toMatchObject({ notFound: true, exitCode: undefined, code: 'COMMAND_NOT_FOUND', errorClass: 'dependency' });
    expect(error.message).toBe('`dnsmasq --version` failed (program not found): dnsmasq: command not found');
    expect(error.hint).toContain('install `dnsmasq`');
  });

  it('simulates a timeout', async () => {
    const runner = new FakeRunner().on('arping', { prefix: [] }, { timedOut: true });
    const error = (await runner.run('arping', ['-c', '1'], { timeoutMs: 1500, reject: false }).catch((e: unknown) => e)) as CommandError;
    expect(error).toMatchObject({ timedOut: true, code: 'COMMAND_TIMEOUT', durationMs: 1500 });
    expect(error.message).toBe('`arping -c 1` failed (timed out after 1500 ms)');
  });

  it('answers after delayMs, times out when timeoutMs is shorter, and is canceled by its signal', async () => {
    const runner = new FakeRunner().on('arping', { prefix: [] }, { stdout: 'reply', delayMs: 40 });
    const ok = await runner.run('arping', ['-c', '1']);
    expect(ok).toMatchObject({ stdout: 'reply', durationMs: 40 });
    const timedOut = (await runner.run('arping', ['-c', '1'], { timeoutMs: 10, reject: false }).catch((e: unknown) => e)) as CommandError;
    expect(timedOut).toMatchObject({ timedOut: true, code: 'COMMAND_TIMEOUT', durationMs: 10 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 5);
    const canceled = (await runner.run('arping', ['-c', '1'], { signal: controller.signal }).catch((e: unknown) => e)) as CommandError;
    expect(canceled).toMatchObject({ isCanceled: true, code: 'COMMAND_CANCELED' });
    const aborted = AbortSignal.abort();
    await expect(runner.run('arping', ['-c', '2'], { signal: aborted })).rejects.toMatchObject({ isCanceled: true });
    expect(runner.commands()).toHaveLength(4);
  });

  it('spawns scripted processes with distinct pids that exit when killed', async () => {
    const runner = new FakeRunner().onSpawn('dnsmasq', { prefix: ['--keep-in-foreground'] });
    const a = await runner.spawn('dnsmasq', ['--keep-in-foreground', '-i', 'eth0'], { detached: true, logFile: '/tmp/x.log' });
    const b = await runner.spawn('dnsmasq', ['--keep-in-foreground']);
    expect(a.pid).not.toBe(b.pid);
    expect(a.command).toBe('dnsmasq --keep-in-foreground -i eth0');
    a.kill('SIGINT');
    await expect(a.exited).resolves.toEqual({ exitCode: null, signal: 'SIGINT' });
    expect(runner.commands('spawn')).toEqual(['dnsmasq --keep-in-foreground -i eth0', 'dnsmasq --keep-in-foreground']);
    expect(runner.commands('run')).toEqual([]);
    expect(runner.calls[0]?.options).toEqual({ detached: true, logFile: '/tmp/x.log' });
  });

  it('spawned processes can exit on their own', async () => {
    const runner = new FakeRunner().onSpawn('consul', { prefix: ['agent'] }, { exitAfterMs: 1, exitCode: 1 });
    const p = await runner.spawn('consul', ['agent']);
    await expect(p.exited).resolves.toEqual({ exitCode: 1, signal: null });
  });

  it('fails loudly on an unexpected spawn', async () => {
    const runner = new FakeRunner().on('dnsmasq', { prefix: [] }, {});
    await expect(runner.spawn('dnsmasq', ['-k'])).rejects.toThrow(
      'FakeRunner: unexpected spawn `dnsmasq -k`\nscripted spawn calls:\n  (none)',
    );
  });
});

describe('PrefixedRunner', () => {
  it('runs and spawns behind the prefix, passing options through', async () => {
    const inner = new FakeRunner()
      .on('nsenter', { prefix: ['--net=/run/netns/n1', '--', 'ip'] }, { stdout: 'ok' })
      .onSpawn('nsenter', { prefix: [] });
    const runner = new PrefixedRunner(inner, ['nsenter', '--net=/run/netns/n1', '--']);
    expect((await runner.run('ip', ['-j', 'addr'], { timeoutMs: 7 })).stdout).toBe('ok');
    await runner.spawn('dnsmasq', ['-k'], { detached: true, logFile: '/l' });
    expect(inner.commands()).toEqual(['nsenter --net=/run/netns/n1 -- ip -j addr', 'nsenter --net=/run/netns/n1 -- dnsmasq -k']);
    expect(inner.calls[0]?.options).toEqual({ timeoutMs: 7 });
    expect(inner.calls[1]?.options).toEqual({ detached: true, logFile: '/l' });
  });
});

describe('formatCommand and tail', () => {
  it('quotes only arguments that need it', () => {
    expect(formatCommand('ip', ['-n', 'n1', 'addr', 'add', '192.168.200.1/24'])).toBe('ip -n n1 addr add 192.168.200.1/24');
    expect(formatCommand('echo', ['', 'a b', "it's", '$HOME'])).toBe(`echo '' 'a b' 'it'\\''s' '$HOME'`);
  });

  it('keeps the last lines of text', () => {
    expect(tail('1\n2\n3\n4\n', 2)).toBe('3\n4');
    expect(tail('', 3)).toBe('');
  });
});
