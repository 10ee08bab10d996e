import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findConsulBinary } from '@cluster-lab/consul';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI_BIN, runCli } from './cli-process.js';

/** Every process whose command line mentions `needle` (e.g. the node's state dir). */
async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).catch(() => '');
    if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

describe.skipIf(skipUnlessRoot())('Ctrl-C during start rolls back and leaves no trace', () => {
  let lab: Lab;
  let config: string;
  let stateDir: string;
  beforeAll(async () => {
    const consul = await findConsulBinary();
    if (!consul) throw new Error('no real `consul`: run `sudo bash scripts/setup.sh`');
    lab = await createLab({ name: 'e2e-int', nodes: 1, docker: true, lan: true });
    const node = lab.nodes[0]!;
    stateDir = join(node.dir, 'cluster-lab');
    config = join(node.dir, 'config.yaml');
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
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('SIGINT after the DHCP server step undoes everything', async () => {
    const node = lab.nodes[0]!;
    const before = await node.ip.listLinks();
    const child = spawn(
      'nsenter',
      [`--net=/run/netns/${node.netns}`, `--uts=${node.utsFile}`, '--', process.execPath, CLI_BIN, 'start', '--config', config, '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let out = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!signalled && out.includes('"type":"step-finished","step":"dhcp-server"')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(signalled).toBe(true);
    expect(code).not.toBe(0);
    expect(out).toContain('"type":"rollback-started"');
    expect(out).toContain('"code":"ABORTED"');
    const after = await node.ip.listLinks();
    expect(after.map((l) => l.name).sort()).toEqual(before.map((l) => l.name).sort());
    const addrs = await node.ip.listAddresses();
    expect(addrs.filter((a) => a.local.startsWith('192.168.200.') || a.local.startsWith('169.254.'))).toEqual([]);
    expect(await processesMentioning(stateDir)).toEqual([]);
    await expect(import('node:fs/promises').then((fs) => fs.readFile(join(stateDir, 'journal.json')))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    // and a normal start afterwards works
    const again = await runCli(['start', '--config', config], {
      prefix: ['nsenter', `--net=/run/netns/${node.netns}`, `--uts=${node.utsFile}`, '--'],
    });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const stop = await runCli(['stop', '--config', config], {
      prefix: ['nsenter', `--net=/run/netns/${node.netns}`, `--uts=${node.utsFile}`, '--'],
    });
    expect(stop.code).toBe(0);
    expect(await processesMentioning(stateDir)).toEqual([]);
  });
});
