import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryNetwork } from '../net/in-memory-network.js';
import { generateSecret } from '../security/cluster-secret.js';
import { hostConfigProblems, parseConfig } from './validate-config.js';

let dir: string;
const net = new InMemoryNetwork().withLink('eth0');
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-host-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hostConfigProblems: the secret file', () => {
  it('is checked only when asked (config check) and only with security: secret', async () => {
    const secretFile = join(dir, 'secret');
    const config = parseConfig({ secretFile });
    expect(await hostConfigProblems(config, net)).toEqual([]);
    const problems = await hostConfigProblems(config, net, { secret: true });
    expect(problems).toEqual([
      {
        path: 'secretFile',
        value: secretFile,
        message: 'does not exist',
        hint: expect.stringContaining(`sudo cluster-lab secret generate --output ${secretFile}`),
      },
    ]);
    expect(await hostConfigProblems(parseConfig({ secretFile, security: 'open' }), net, { secret: true })).toEqual([]);
  });

  it('passes a good file and names the chmod for a world-readable one', async () => {
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${generateSecret().toText()}\n`, { mode: 0o600 });
    await chmod(secretFile, 0o600);
    expect(await hostConfigProblems(parseConfig({ secretFile }), net, { secret: true })).toEqual([]);
    await chmod(secretFile, 0o644);
    expect(await hostConfigProblems(parseConfig({ secretFile }), net, { secret: true })).toEqual([
      {
        path: 'secretFile',
        value: secretFile,
        message: 'is readable or writable by group or others (mode 0644; must be 0600 or 0400)',
        hint: `run \`sudo chmod 600 ${secretFile}\``,
      },
    ]);
  });
});

describe('hostConfigProblems: consul.binary', () => {
  it('accepts a command name without looking it up (dependencies does) and an executable file', async () => {
    const binary = join(dir, 'consul');
    await writeFile(binary, '#!/bin/sh\n', { mode: 0o755 });
    await chmod(binary, 0o755);
    expect(await hostConfigProblems(parseConfig({ consul: { binary: 'consul' } }), net)).toEqual([]);
    expect(await hostConfigProblems(parseConfig({ consul: { binary } }), net)).toEqual([]);
  });

  it.each([
    ['a missing file', async () => join(dir, 'nope'), 'does not exist'],
    ['a directory', async () => dir, 'is not a regular file'],
    [
      'a file without execute bits',
      async () => {
        const p = join(dir, 'consul');
        await writeFile(p, 'x', { mode: 0o644 });
        await chmod(p, 0o644);
        return p;
      },
      'is not executable',
    ],
  ])('refuses %s', async (_, make, message) => {
    const binary = await make();
    const problems = await hostConfigProblems(parseConfig({ consul: { binary } }), net);
    expect(problems).toEqual([{ path: 'consul.binary', value: binary, message, hint: expect.stringContaining('command -v consul') }]);
  });

  it('skips the check when Consul runs as a container or not at all', async () => {
    const binary = join(dir, 'nope');
    expect(await hostConfigProblems(parseConfig({ consul: { binary, runtime: 'container' } }), net)).toEqual([]);
    expect(await hostConfigProblems(parseConfig({ consul: { binary, enabled: false } }), net)).toEqual([]);
  });
});
