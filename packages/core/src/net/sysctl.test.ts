import { describe, expect, it } from 'vitest';
import type { RunOptions } from '../command/command-runner.js';
import { FakeRunner } from '../command/fake-runner.js';
import { restoreSysctl, setSysctl, setSysctls, sysctlPath } from './sysctl.js';

/** A runner whose `/proc/sys` is a map: `cat` reads it, `tee` writes its stdin into it. */
function procSys(initial: Record<string, string>) {
  const files = new Map(Object.entries(initial));
  const runner = new FakeRunner()
    .on(
      'cat',
      () => true,
      (call) => {
        const value = files.get(call.args[0] as string);
        return value === undefined ? { exitCode: 1, stderr: `cat: ${call.args[0]}: No such file or directory` } : { stdout: `${value}\n` };
      },
    )
    .on(
      'tee',
      () => true,
      (call) => {
        files.set(call.args[0] as string, String((call.options as RunOptions).input).trim());
        return {};
      },
    );
  return { runner, files };
}

describe('sysctl', () => {
  it('maps dotted and slashed keys to /proc/sys, refusing anything that is not a setting name', () => {
    expect(sysctlPath('net.ipv4.ip_nonlocal_bind')).toBe('/proc/sys/net/ipv4/ip_nonlocal_bind');
    expect(sysctlPath('net/ipv4/conf/eth0.200/promote_secondaries')).toBe('/proc/sys/net/ipv4/conf/eth0.200/promote_secondaries');
    for (const bad of ['', 'net', 'net/../../etc/passwd', 'net.ipv4.x y', 'net//x']) {
      expect(() => sysctlPath(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', errorClass: 'usage' }));
    }
  });

  it('sets a value with argument arrays (cat, tee with stdin) and reports the previous one', async () => {
    const { runner, files } = procSys({ '/proc/sys/net/ipv4/ip_nonlocal_bind': '0' });
    expect(await setSysctl(runner, 'net.ipv4.ip_nonlocal_bind', '1')).toEqual({
      key: 'net.ipv4.ip_nonlocal_bind',
      previous: '0',
      value: '1',
    });
    expect(runner.commands()).toEqual(['cat /proc/sys/net/ipv4/ip_nonlocal_bind', 'tee /proc/sys/net/ipv4/ip_nonlocal_bind']);
    expect(files.get('/proc/sys/net/ipv4/ip_nonlocal_bind')).toBe('1');
  });

  it('changes nothing when the value is already set', async () => {
    const { runner } = procSys({ '/proc/sys/net/ipv4/ip_nonlocal_bind': '1' });
    expect(await setSysctl(runner, 'net.ipv4.ip_nonlocal_bind', '1')).toBeUndefined();
    expect(runner.commands('run').filter((c) => c.startsWith('tee'))).toEqual([]);
  });

  it('restores the previous value only while the setting still holds ours', async () => {
    const key = 'net.ipv4.ip_nonlocal_bind';
    const path = sysctlPath(key);
    const { runner, files } = procSys({ [path]: '0' });
    const change = await setSysctl(runner, key, '1');
    if (!change) throw new Error('expected a change');
    expect(await restoreSysctl(runner, change)).toBe('restored');
    expect(files.get(path)).toBe('0');
    expect(await restoreSysctl(runner, change)).toBe('already-previous');
    files.set(path, '2'); // someone else changed it after us
    expect(await restoreSysctl(runner, change)).toBe('changed-since');
    expect(files.get(path)).toBe('2');
  });

  it('sets several settings with one cat and one tee per value, reporting only what changed', async () => {
    const a = 'net.ipv4.ip_nonlocal_bind';
    const b = 'net/ipv4/conf/eth0.200/promote_secondaries';
    const c = 'net.ipv4.ip_forward';
    const { runner, files } = procSys({ [sysctlPath(a)]: '0', [sysctlPath(b)]: '0', [sysctlPath(c)]: '1' });
    runner.on(
      'cat',
      (args) => args.length > 1,
      (call) => ({ stdout: call.args.map((p) => `${files.get(p)}\n`).join('') }),
    );
    expect(await setSysctls(runner, { [a]: '1', [b]: '1', [c]: '1' })).toEqual([
      { key: a, previous: '0', value: '1' },
      { key: b, previous: '0', value: '1' },
    ]);
    expect(runner.commands()).toEqual([`cat ${sysctlPath(a)} ${sysctlPath(b)} ${sysctlPath(c)}`, `tee ${sysctlPath(a)} ${sysctlPath(b)}`]);
    expect(await setSysctls(runner, { [a]: '1' })).toEqual([]);
  });

  it('a per-interface setting whose interface is gone counts as restored', async () => {
    const { runner } = procSys({});
    expect(await restoreSysctl(runner, { key: 'net/ipv4/conf/vx200/promote_secondaries', previous: '0', value: '1' })).toBe('restored');
  });
});
