import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveClusterKeys, parseSecret } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../program.js';

let dir: string;
let stdout: string;
let stderr: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-secret-cli-'));
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => main(['node', 'cluster-lab', ...args]);

describe('cluster-lab secret', () => {
  it('generate prints a new, valid secret on one line', async () => {
    expect(await run('secret', 'generate')).toBe(0);
    expect(stdout).toMatch(/^clsec1_[A-Za-z0-9_-]{48}\n$/);
    expect(() => parseSecret(stdout)).not.toThrow();
  });

  it('generate --output writes mode 0600, refuses to overwrite, replaces with --force', async () => {
    const file = join(dir, 'secret');
    expect(await run('secret', 'generate', '--output', file)).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const first = await readFile(file, 'utf8');
    const fingerprint = deriveClusterKeys(parseSecret(first)).fingerprint;
    expect(stdout).toContain(`wrote a new cluster secret to ${file} (mode 0600, fingerprint ${fingerprint})`);
    expect(stdout).toContain(`sudo cat ${file} | ssh <user>@<node> 'sudo install -D -m 600 /dev/stdin ${file}'`);
    expect(stdout).not.toContain(first.trim());

    expect(await run('secret', 'generate', '--output', file)).toBe(2);
    expect(stderr).toContain('already exists; not overwriting the cluster secret');
    expect(await readFile(file, 'utf8')).toBe(first);

    expect(await run('secret', 'generate', '--output', file, '--force')).toBe(0);
    expect(await readFile(file, 'utf8')).not.toBe(first);
  });

  it('generate --output refuses a relative or injected path', async () => {
    expect(await run('secret', 'generate', '--output', 'secret')).toBe(2);
    expect(stderr).toContain('must be an absolute path');
  });

  it('fingerprint and derive read the secret file and check its mode', async () => {
    const file = join(dir, 'secret');
    await run('secret', 'generate', '--output', file);
    const keys = deriveClusterKeys(parseSecret(await readFile(file, 'utf8')));
    stdout = '';
    expect(await run('secret', 'fingerprint', '--file', file)).toBe(0);
    expect(stdout).toBe(`${file}: valid cluster secret, fingerprint ${keys.fingerprint}\n`);
    stdout = '';
    expect(await run('secret', 'derive', 'management-token', '--file', file)).toBe(0);
    expect(await run('secret', 'derive', 'gossip-key', '--file', file)).toBe(0);
    expect(await run('secret', 'derive', 'agent-token', '--node', 'pi2', '--file', file)).toBe(0);
    expect(stdout).toBe(`${keys.managementToken}\n${keys.gossipKey}\n${keys.agentToken('pi2')}\n`);

    expect(await run('secret', 'derive', 'agent-token', '--file', file)).toBe(2);
    expect(stderr).toContain('agent-token needs the node name');
    expect(await run('secret', 'derive', 'election-key', '--file', file)).toBe(2);
    expect(stderr).toContain('use one of: gossip-key, management-token, agent-token');

    await chmod(file, 0o644);
    expect(await run('secret', 'fingerprint', '--file', file)).toBe(2);
    expect(stderr).toContain(`run \`sudo chmod 600 ${file}\``);
  });

  it('fingerprint defaults to secretFile from the config', async () => {
    const file = join(dir, 'from-config');
    const config = join(dir, 'config.yaml');
    await writeFile(config, `secretFile: ${file}\n`);
    expect(await run('secret', 'fingerprint', '--config', config)).toBe(2);
    expect(stderr).toContain(`secretFile ${file} does not exist`);
  });
});

describe('cluster-lab config check and the secret', () => {
  it('refuses a missing secret with exit 2 and the command that fixes it; --file-only skips the machine', async () => {
    const file = join(dir, 'secret');
    const config = join(dir, 'config.yaml');
    await writeFile(config, `secretFile: ${file}\ninterface: lo\nnetwork:\n  backend: native\n`);
    expect(await run('config', 'check', '--config', config)).toBe(2);
    expect(stderr).toContain(`secretFile: "${file}" does not exist`);
    expect(stderr).toContain(`sudo cluster-lab secret generate --output ${file}`);
    expect(await run('config', 'check', '--config', config, '--file-only')).toBe(0);
    await run('secret', 'generate', '--output', file);
    expect(await run('config', 'check', '--config', config)).toBe(0);
  });

  it('warns on security: open', async () => {
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'security: open\ninterface: lo\nnetwork:\n  backend: native\n');
    expect(await run('config', 'check', '--config', config)).toBe(0);
    expect(stderr).toContain('warning: security: open — no cluster secret');
  });
});
