import { isProcessAlive, readPidFile } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab } from './create-lab.js';
import { pingDocker } from './dockerd.js';
import { netnsPids } from './fault-injection.js';
import type { Lab, LabNode } from './index.js';

async function reaches(from: LabNode, to: LabNode): Promise<boolean> {
  const r = await from.exec('ping', ['-c', '1', '-W', '1', to.lanAddress as string], { reject: false, timeoutMs: 5_000 });
  return r.exitCode === 0;
}

/** The link's flags as `ip -j link show` lists them (inside the node: /sys is the host's). */
async function flags(node: LabNode, link: string): Promise<string[]> {
  const out = await node.exec('ip', ['-j', 'link', 'show', 'dev', link]);
  return (JSON.parse(out.stdout) as { flags: string[] }[])[0]?.flags ?? [];
}

describe.skipIf(skipUnlessRoot())('fault injection in a real lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ name: 'fault', nodes: 3, clusterNic: true });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('unplug cuts a node off both switches (carrier gone in the node); plug restores it', async () => {
    const [n1, n2] = lab.nodes as [LabNode, LabNode];
    expect(await reaches(n1, n2)).toBe(true);
    await lab.unplug(n2);
    expect(await reaches(n1, n2)).toBe(false);
    try {
      expect(await flags(n2, 'eth1')).toContain('NO-CARRIER');
    } finally {
      await lab.plug(n2);
    }
    expect(await reaches(n1, n2)).toBe(true);
  });

  it('partition splits the switch into groups that reach only themselves; heal joins them again', async () => {
    const [n1, n2, n3] = lab.nodes as [LabNode, LabNode, LabNode];
    await lab.partition([[n1], [n2, n3]]);
    expect(await reaches(n2, n3)).toBe(true);
    expect(await reaches(n1, n2)).toBe(false);
    expect(await reaches(n3, n1)).toBe(false);
    // Nodes see no link change.
    expect(await flags(n1, 'eth0')).toContain('LOWER_UP');
    await lab.heal();
    expect(await reaches(n1, n2)).toBe(true);
    expect(await reaches(n3, n1)).toBe(true);
    await lab.heal(); // idempotent
  });

  it('power off kills every process of the node at once, drops what a reboot loses, keeps its namespaces; power on plugs it in', async () => {
    const n3 = lab.node('node3');
    const sleeper = await n3.spawn('sleep', ['600'], { detached: true, logFile: `${n3.dir}/sleeper.log` });
    // Runtime network state a reboot would lose: a link and addresses made in the node.
    await n3.exec('ip', ['link', 'add', 'vxtest', 'type', 'veth', 'peer', 'name', 'vxpeer']);
    await n3.ip.addAddress('eth1', '192.168.200.1/24');
    await n3.ip.addAddress('eth0', '169.254.7.7/16');
    expect(await isProcessAlive(sleeper.pid)).toBe(true);
    const killed = await lab.powerOff(n3);
    expect(killed).toContain(sleeper.pid);
    expect(await isProcessAlive(sleeper.pid)).toBe(false);
    expect(await netnsPids(n3.netns)).toEqual([]);
    expect((await n3.ip.listLinks()).map((l) => l.name).sort()).toEqual(['eth0', 'eth1', 'lo']);
    expect((await n3.ip.listAddresses()).filter((a) => a.family === 'inet' && a.dev !== 'lo').map((a) => a.cidr)).toEqual([
      `${n3.lanAddress}/24`,
    ]);
    expect(await reaches(lab.node('node1'), n3)).toBe(false);
    await lab.powerOn(n3);
    expect(await reaches(lab.node('node1'), n3)).toBe(true);
  });
});

describe.skipIf(skipUnlessRoot())('power cycle of a lab node with docker', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ name: 'faultd', nodes: 1, docker: true });
  }, 120_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  it('power off SIGKILLs dockerd and its containerd; power on starts dockerd again on the same data', { timeout: 120_000 }, async () => {
    const node = lab.node('node1');
    const dockerd = lab.state.dockerds[0];
    const pid = await readPidFile(dockerd?.pidFile as string);
    expect(pid && (await isProcessAlive(pid))).toBe(true);
    const killed = await lab.powerOff(node);
    expect(killed).toContain(pid);
    expect(await netnsPids(node.netns)).toEqual([]);
    expect(await pingDocker(node.dockerSocket as string)).toBe(false);
    await lab.powerOn(node);
    expect(await pingDocker(node.dockerSocket as string)).toBe(true);
    const again = await readPidFile(dockerd?.pidFile as string);
    expect(again).not.toBe(pid);
  });
});
