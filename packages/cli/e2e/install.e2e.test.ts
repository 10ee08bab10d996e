import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAKE_CONSUL_BIN } from '@cluster-lab/consul/testing';
import { findExecutable } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { jsonLines } from './cli-process.js';
import { REPO_ROOT } from './readme-commands.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, env: { ...process.env, NO_COLOR: '1', ...options.env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function sizeOf(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const f of await readdir(path)) total += await sizeOf(join(path, f));
  return total;
}

/**
 * What a node gets from `npm run release` + install.sh: the release tarball, unpacked somewhere
 * else (as after copying it to the node), installed below a root with `--root`.
 */
describe('release + install.sh: a node install with no build and no dev dependencies', () => {
  let dir: string;
  let root: string;
  let launcher: string;
  let unpacked: string;
  let install: Run;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-install-'));
    const release = await run(process.execPath, [join(REPO_ROOT, 'scripts/release.mjs'), '--out', join(dir, 'release')]);
    expect(release.code, release.stderr).toBe(0);
    const [tarball] = (await readdir(join(dir, 'release'))).filter((f) => f.endsWith('.tar.gz'));
    await mkdir(join(dir, 'copied'));
    execFileSync('tar', ['-xzf', join(dir, 'release', tarball as string), '-C', join(dir, 'copied')]);
    unpacked = join(dir, 'copied', (tarball as string).replace(/\.tar\.gz$/, ''));
    root = join(dir, 'root');
    install = await run('bash', [join(unpacked, 'install.sh'), '--root', root]);
    launcher = join(root, 'usr/local/bin/cluster-lab');
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('installs the launcher, the bundled CLI, the config and the unit; no node_modules, no sources', async () => {
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain('install: done');
    const lib = join(root, 'opt/cluster-lab/lib');
    expect(existsSync(join(lib, 'bin.js'))).toBe(true);
    expect(execFileSync('find', [root, '-name', 'node_modules', '-o', '-name', '*.ts'], { encoding: 'utf8' })).toBe('');
    expect(await sizeOf(lib)).toBeLessThan(8e6);
    expect(await readFile(join(root, 'etc/cluster-lab/config.yaml'), 'utf8')).toBe(
      await readFile(join(REPO_ROOT, 'examples/config/config.yaml'), 'utf8'),
    );
    expect(await readFile(launcher, 'utf8')).toContain(`${root}/opt/cluster-lab/lib/bin.js`);
    expect(await readFile(join(root, 'usr/share/bash-completion/completions/cluster-lab'), 'utf8')).toContain('complete -o bashdefault');
  });

  it('the installed CLI runs: version, config, status (loads the Docker and Consul clients), dependencies', async () => {
    const version = JSON.parse(await readFile(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')).version as string;
    expect((await run(launcher, ['--version'])).stdout.trim()).toBe(version);
    const env = { CLUSTER_LAB_CONFIG: join(root, 'etc/cluster-lab/config.yaml') };
    const check = await run(launcher, ['config', 'check', '--file-only'], { env });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('configuration OK');
    const status = await run(launcher, ['status', '--json', '--state-dir', join(dir, 'state')], { env });
    expect(status.stderr).toBe('');
    expect(jsonLines(status.stdout).find((e) => e.type === 'status')).toMatchObject({ running: false });
    const deps = await run(launcher, ['dependencies', '--json'], { env });
    expect([0, 3], deps.stderr).toContain(deps.code);
    expect(jsonLines(deps.stdout).map((e) => e.id)).toContain('ip');
  });

  it('the installed unit passes systemd-analyze verify', async () => {
    const verify = await run('systemd-analyze', ['verify', join(root, 'etc/systemd/system/cluster-lab.service')]);
    expect({ code: verify.code, output: `${verify.stdout}${verify.stderr}`.trim() }).toEqual({ code: 0, output: '' });
    const unit = await readFile(join(root, 'etc/systemd/system/cluster-lab.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${launcher} start`);
    expect(unit).toContain(`Environment=CLUSTER_LAB_CONFIG=${root}/etc/cluster-lab/config.yaml`);
  });

  it('again: keeps an edited config, replaces the CLI', async () => {
    const config = join(root, 'etc/cluster-lab/config.yaml');
    await writeFile(config, 'interface: eth1\n');
    await writeFile(join(root, 'opt/cluster-lab/lib/stale.js'), '');
    const again = await run('bash', [join(unpacked, 'install.sh'), '--root', root]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`keeping the existing ${config}`);
    expect(await readFile(config, 'utf8')).toBe('interface: eth1\n');
    expect(existsSync(join(root, 'opt/cluster-lab/lib/stale.js'))).toBe(false);
  });

  it('keeps a legacy cluster.conf as the config, and points the unit at it', async () => {
    const legacyRoot = join(dir, 'legacy');
    await mkdir(join(legacyRoot, 'etc/cluster-lab'), { recursive: true });
    await writeFile(join(legacyRoot, 'etc/cluster-lab/cluster.conf'), 'INTERFACE=eth0\n');
    const legacy = await run('bash', [join(unpacked, 'install.sh'), '--root', legacyRoot]);
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(existsSync(join(legacyRoot, 'etc/cluster-lab/config.yaml'))).toBe(false);
    expect(await readFile(join(legacyRoot, 'etc/systemd/system/cluster-lab.service'), 'utf8')).toContain(
      `Environment=CLUSTER_LAB_CONFIG=${legacyRoot}/etc/cluster-lab/cluster.conf`,
    );
  });

  it('without a release next to it, says how to make one', async () => {
    const lonely = join(dir, 'lonely');
    await mkdir(join(lonely, 'scripts'), { recursive: true });
    await writeFile(join(lonely, 'scripts/install.sh'), await readFile(join(unpacked, 'install.sh')));
    const none = await run('bash', [join(lonely, 'scripts/install.sh'), '--root', join(dir, 'nowhere')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('npm run release');
  });

  /** The shipped bundle runs the boot flow: start (and its supervisor), health, stop, in a lab node. */
  describe.skipIf(skipUnlessRoot())('in a lab node, as root', () => {
    let lab: Lab;
    let config: string;
    let stateDir: string;
    const inNode = () => {
      const node = lab.nodes[0];
      if (!node) throw new Error('no lab node');
      return ['nsenter', `--net=/run/netns/${node.netns}`, `--uts=${node.utsFile}`, '--', launcher];
    };
    beforeAll(async () => {
      lab = await createLab({ name: 'e2e-inst', nodes: 1, docker: true, lan: true });
      const node = lab.nodes[0];
      if (!node) throw new Error('no lab node');
      stateDir = join(node.dir, 'cluster-lab');
      config = join(node.dir, 'config.yaml');
      const consul = (await findExecutable('consul')) ?? FAKE_CONSUL_BIN;
      await writeFile(
        config,
        stringify({
          interface: 'eth0',
          network: { backend: 'vxlan' },
          hostname: node.name,
          stateDir,
          secretFile: lab.secretFile,
          docker: { socket: node.dockerSocket },
          consul: { runtime: 'binary', binary: consul },
        }),
      );
    }, 120_000);
    afterAll(async () => {
      if (lab) {
        const [file, ...args] = inNode();
        await run(file as string, [...args, 'stop', '--config', config]);
        await lab.destroy();
      }
    });

    it('start, health, stop with the installed launcher; stop leaves no process behind', async () => {
      const [file, ...args] = inNode();
      const start = await run(file as string, [...args, 'start', '--config', config], { timeoutMs: 180_000 });
      expect(start.code, `${start.stdout}\n${start.stderr}`).toBe(0);
      expect(start.stdout).toMatch(/^ready in /m);
      const supervisor = execFileSync('pgrep', ['-af', 'supervise'], { encoding: 'utf8' });
      expect(supervisor).toContain(`${root}/opt/cluster-lab/lib/bin.js supervise`);
      const health = await run(file as string, [...args, 'health', '--config', config]);
      expect(health.code, health.stdout).toBe(0);
      const stop = await run(file as string, [...args, 'stop', '--config', config]);
      expect(stop.code, `${stop.stdout}\n${stop.stderr}`).toBe(0);
      expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(stateDir);
    });
  });
});
