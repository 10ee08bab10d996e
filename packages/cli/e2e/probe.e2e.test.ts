import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI_BIN, runCli } from './cli-process.js';

const inNode = (node: LabNode) => ['nsenter', `--net=/run/netns/${node.netns}`, `--uts=${node.utsFile}`, '--'];

describe.skipIf(skipUnlessRoot())('cluster-lab probe: the two-machine cluster link test', () => {
  let lab: Lab;
  const configs: string[] = [];
  beforeAll(async () => {
    lab = await createLab({ name: 'e2e-probe', nodes: 3, lan: true });
    for (const node of lab.nodes) {
      const file = join(node.dir, 'config.yaml');
      await writeFile(file, stringify({ interface: 'eth0', network: { backend: 'vxlan' }, stateDir: join(node.dir, 'cl') }));
      configs.push(file);
    }
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('passes between two nodes over vxlan, fails with a hint on another VNI, and removes what it added', async () => {
    const [a, b, c] = lab.nodes as [LabNode, LabNode, LabNode];
    const linksBefore = (await b.ip.listLinks()).map((l) => l.name).sort();
    const [file, ...prefix] = inNode(a);
    const listener = spawn(file as string, [...prefix, process.execPath, CLI_BIN, 'probe', '--listen', '--config', configs[0] as string], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      listener.stdout.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
      listener.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
    const ok = await runCli(['probe', '--config', configs[1] as string], { prefix: inNode(b) });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^PASS/m);
    // node3 on VNI 201 cannot hear VNI 200: a FAIL with a hint, exit 1
    await writeFile(
      configs[2] as string,
      stringify({ interface: 'eth0', network: { backend: 'vxlan', vxlan: { vni: 201 } }, stateDir: join(c.dir, 'cl') }),
    );
    const bad = await runCli(['probe', '--config', configs[2] as string], { prefix: inNode(c) });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL/m);
    expect(bad.stdout).toMatch(/hint: /);
    listener.kill('SIGINT');
    await new Promise((resolve) => listener.once('exit', resolve));
    for (const node of lab.nodes) {
      expect((await node.ip.listAddresses()).filter((x) => x.local.startsWith('198.18.'))).toEqual([]);
    }
    expect((await b.ip.listLinks()).map((l) => l.name).sort()).toEqual(linksBefore);
  });
});
