import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandRunner, ExecaRunner, IpRoute2, PrefixedRunner, parseConfig, type SpawnedProcess } from '@cluster-lab/core';
import type { Lab } from '@cluster-lab/lab';
import { createBackend } from '@cluster-lab/vlan';

/** The rogue's address on the cluster link: inside the subnet, outside the DHCP range, not the leader's. */
export const ROGUE_CLUSTER_ADDRESS = '192.168.200.66';

/** What an HTTP request from the rogue got back. */
export interface RogueHttpReply {
  status: number;
  body: string;
}

/**
 * A stranger on the lab's home LAN who has put itself on the cluster link — as anyone on the LAN
 * can with the `vxlan` backend (same VNI, group and port: `ip link add … type vxlan`) — but has
 * no cluster secret. A network namespace of its own with `eth0` on the lab's LAN switch and the
 * cluster link `vx200` holding {@link ROGUE_CLUSTER_ADDRESS}. Removed by {@link RogueHost.destroy}.
 */
export class RogueHost {
  readonly runner: CommandRunner;
  readonly ip: IpRoute2;
  private readonly daemons: SpawnedProcess[] = [];

  private constructor(
    readonly netns: string,
    readonly dir: string,
    private readonly switchNetns: string,
    private readonly host: CommandRunner,
  ) {
    this.runner = new PrefixedRunner(host, ['nsenter', `--net=/run/netns/${netns}`, '--']);
    this.ip = new IpRoute2(host, netns);
  }

  /** Joins `lab`'s LAN (a veth on its switch) and then the cluster link over VXLAN, like a node's `vxlan` backend does. */
  static async join(lab: Lab): Promise<RogueHost> {
    const host = new ExecaRunner();
    const netns = `cl-${lab.id}-rg`;
    const lanSubnet = lab.lan?.subnet;
    if (!lanSubnet) throw new Error('the rogue needs a lab with a LAN');
    const dir = await mkdtemp(join(tmpdir(), 'cl-rogue-'));
    await host.run('ip', ['netns', 'add', netns]);
    const rogue = new RogueHost(netns, dir, lab.switchNetns, host);
    try {
      await host.run('ip', ['-n', lab.switchNetns, 'link', 'add', 'rg0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      await host.run('ip', ['-n', lab.switchNetns, 'link', 'set', 'rg0', 'master', 'br0', 'up']);
      await host.run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      await host.run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
      await host.run('ip', ['-n', netns, 'address', 'add', `${lanSubnet.replace(/\.0\/24$/, '.250')}/24`, 'dev', 'eth0']);
      // The same backend the nodes run: what the rogue needs is in any node's config (VNI, group, port).
      const config = parseConfig({ interface: 'eth0', network: { backend: 'vxlan' } });
      const { link } = await createBackend(config, { network: rogue.ip, runner: rogue.runner }).ensure();
      await rogue.ip.addAddress(link.name, `${ROGUE_CLUSTER_ADDRESS}/24`);
      return rogue;
    } catch (error) {
      await rogue.destroy();
      throw error;
    }
  }

  /** Starts a long-running program in the rogue (stopped by {@link destroy}). */
  async spawn(file: string, args: readonly string[], logName: string): Promise<SpawnedProcess> {
    const child = await this.runner.spawn(file, args, { detached: true, logFile: join(this.dir, logName) });
    this.daemons.push(child);
    return child;
  }

  /** One HTTP request from the rogue (Node's fetch inside its namespace). */
  async http(url: string, method: 'GET' | 'PUT' = 'GET', body?: string): Promise<RogueHttpReply> {
    const script = `fetch(process.argv[1], { method: process.argv[2], ...(process.argv[3] ? { body: process.argv[3] } : {}), signal: AbortSignal.timeout(5000) })
      .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))
      .catch((e) => console.log(JSON.stringify({ status: 0, body: String(e) })));`;
    const run = await this.runner.run(process.execPath, ['-e', script, url, method, ...(body !== undefined ? [body] : [])], {
      timeoutMs: 15_000,
    });
    return JSON.parse(run.stdout.trim()) as RogueHttpReply;
  }

  /** Writes a file in the rogue's own directory; returns its path. */
  async file(name: string, content: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  }

  /** Stops what it started, removes its namespace (and with it its veth and VXLAN link) and its files. */
  async destroy(): Promise<void> {
    for (const d of this.daemons) {
      d.kill('SIGKILL');
      await Promise.race([d.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    await this.host.run('ip', ['-n', this.switchNetns, 'link', 'del', 'rg0'], { reject: false });
    await this.host.run('ip', ['netns', 'del', this.netns], { reject: false });
    await rm(this.dir, { recursive: true, force: true });
  }
}
