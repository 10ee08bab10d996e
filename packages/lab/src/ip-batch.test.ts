import { FakeRunner } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { addressAdd, ipBatch, linkUp, vethIntoNetns } from './ip-batch.js';

describe('ipBatch', () => {
  it('feeds one command per line to `ip -n <netns> -batch -`', async () => {
    const runner = new FakeRunner().on('ip', ['-n', 'cl-x-sw', '-batch', '-'], {});
    await ipBatch(runner, [['link', 'add', 'br0', 'type', 'bridge'], linkUp('br0')], { netns: 'cl-x-sw' });
    expect(runner.calls[0]?.options).toMatchObject({ input: 'link add br0 type bridge\nlink set dev br0 up\n', reject: true });
  });

  it('keeps going past errors with force, and can resolve instead of throwing', async () => {
    const runner = new FakeRunner().on('ip', ['-force', '-batch', '-'], { exitCode: 1, stderr: 'Command failed -:1' });
    const result = await ipBatch(runner, [['netns', 'del', 'a']], { force: true, reject: false });
    expect(result.exitCode).toBe(1);
  });

  it('refuses arguments that would split or join lines', async () => {
    const runner = new FakeRunner();
    await expect(ipBatch(runner, [['link', 'add', 'a b']])).rejects.toThrow(/"a b" is empty or contains whitespace/);
    await expect(ipBatch(runner, [['link', 'add', 'x\nnetns del y']])).rejects.toThrow(/whitespace/);
    expect(runner.calls).toEqual([]);
  });

  it('builds validated command lines', () => {
    expect(vethIntoNetns('e1', 'eth0', '02:aa:bb:cc:00:01', 'cl-x-n1')).toEqual([
      'link',
      'add',
      'e1',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'address',
      '02:aa:bb:cc:00:01',
      'netns',
      'cl-x-n1',
    ]);
    expect(linkUp('e1', 'br0')).toEqual(['link', 'set', 'dev', 'e1', 'master', 'br0', 'up']);
    expect(addressAdd('10.1.2.11/24', 'eth0')).toEqual(['address', 'add', '10.1.2.11/24', 'dev', 'eth0']);
    expect(() => vethIntoNetns('e1', 'eth0', '01:00:5e:00:00:01', 'ns')).toThrow(/multicast/);
    expect(() => linkUp('much-too-long-name')).toThrow();
    expect(() => addressAdd('10.1.2.300/24', 'eth0')).toThrow();
  });
});
