import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecaRunner, type ProgressEvent, parseConfig } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIdFromMachineId } from '../config/node-id.js';
import { consulAgent } from '../consul-agent.js';
import { requireRealConsul } from '../test-support/real-consul.js';
import { formatConsulVersion } from '../version/consul-version.js';
import { chooseConsulRuntime } from './choose-runtime.js';
import { CONSUL_READY_LINE } from './consul-runtime.js';
import { CONSUL_CONTAINER_NAME, type ContainerRuntime } from './container-runtime.js';
import { buildLocalConsulImage } from './local-consul-image.js';

describe.skipIf(skipUnlessRoot())('ContainerRuntime against a real lab dockerd (real Consul in a local image)', () => {
  let lab: Lab;
  let image: string;
  beforeAll(async () => {
    const binary = await requireRealConsul();
    lab = await createLab({ name: 'consul-ct', nodes: 1, docker: true, lan: false });
    const n1 = lab.nodes[0]!;
    await n1.ip.setUp('eth0');
    await n1.ip.addAddress('eth0', '192.168.200.1/24');
    // No registry here: the same Debian 11 build setup installed, `docker import`ed.
    ({ image } = await buildLocalConsulImage({ runner: new ExecaRunner(), docker: n1.docker(), binary }));
  }, 180_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  it('auto picks the present image, then create/start/restart-policy/logs/stop/remove through dockerode', async () => {
    const n1 = lab.nodes[0]!;
    const docker = n1.docker();
    const config = parseConfig({
      stateDir: join(lab.stateDir, 'cl'),
      consul: { image, binary: 'consul-not-installed-here' },
    });
    const events: ProgressEvent[] = [];
    const choice = await chooseConsulRuntime({
      config,
      runner: n1.runner,
      docker,
      runDir: join(lab.stateDir, 'cl', 'consul'),
      events: (e) => events.push(e),
    });
    expect(choice.reason).toBe(`auto: image present (container ${CONSUL_CONTAINER_NAME} (${image}, linux/amd64))`);
    const runtime = choice.runtime as ContainerRuntime;
    expect(runtime.kind).toBe('container');
    // The version comes from the image's label, without running it; it decides the config keys.
    const version = await runtime.version();
    expect(formatConsulVersion(version)).toBe('1.8.7');
    expect(version.source).toBe(`label org.opencontainers.image.version of image ${image}`);
    await mkdir(config.stateDir, { recursive: true });

    const agent = await consulAgent({
      config,
      runtime,
      facts: {
        role: 'leader',
        server: true,
        clusterAddress: '192.168.200.1',
        leaderAddress: '192.168.200.1',
        nodeName: 'node1',
        nodeId: nodeIdFromMachineId('0123456789abcdef0123456789abcdef'),
        dataDir: join(lab.stateDir, 'cl', 'consul-data'),
      },
      events: (e) => events.push(e),
      // This test process is outside the node's namespace; the agent is checked through the node below.
      waitForLeader: false,
    }).start();
    try {
      const info = await runtime.inspect();
      expect(info?.State?.Running).toBe(true);
      expect(info?.HostConfig?.NetworkMode).toBe('host');
      expect(info?.HostConfig?.RestartPolicy?.Name).toBe('unless-stopped');
      expect(info?.HostConfig?.Binds).toEqual([
        `${agent.changes.dataDir}:/consul/data`,
        `${agent.changes.configFile}:/consul/config/cluster-lab.json:ro`,
      ]);
      expect(info?.Config?.Labels?.['cluster-lab.component']).toBe('consul');
      expect(agent.rendered.config.ui).toBe(true);
      expect(agent.rendered.config.ui_config).toBeUndefined();
      const logs = await runtime.logs();
      expect(logs).not.toContain('TEST DOUBLE');
      expect(logs).toContain("Version: '1.8.7'");
      expect(logs).toContain(CONSUL_READY_LINE);
      expect(logs).toContain("Node name: 'node1'");
      expect(logs).toContain('Cluster Addr: 192.168.200.1 (LAN: 8301');
      // Host networking: the agent answers on the node's cluster address and elected itself.
      const leader = await until(async () => {
        const r = await n1.exec('busybox', ['wget', '-qO-', 'http://192.168.200.1:8500/v1/status/leader'], { reject: false });
        return r.stdout.includes('8300') ? r.stdout : undefined;
      }, 20_000);
      expect(leader).toBe('"192.168.200.1:8300"');
      expect((await runtime.status()).detail).toMatch(
        /^container cluster-lab-consul running \(cluster-lab\/consul:1\.8\.7, restart unless-stopped\)$/,
      );

      // Restart policy: a crash (SIGKILL from outside) brings the agent back.
      const pid = info?.State?.Pid as number;
      process.kill(pid, 'SIGKILL');
      const restarted = await until(async () => {
        const i = await runtime.inspect();
        return i?.State?.Running && (i.RestartCount ?? 0) >= 1 && i.State.Pid !== pid ? i : undefined;
      }, 20_000);
      expect(restarted.RestartCount).toBeGreaterThanOrEqual(1);
      // Starting again on a running container is a no-op.
      expect(await runtime.start({ configFile: agent.changes.configFile, dataDir: agent.changes.dataDir, nodeName: 'node1' })).toEqual({
        started: false,
      });
    } finally {
      await agent.stop();
    }
    expect(await runtime.inspect()).toBeUndefined();
    expect((await runtime.status()).running).toBe(false);
    expect(await runtime.stop()).toBe(false);
    const containers = await docker.listContainers({ all: true });
    expect(containers.filter((c) => c.Names.includes(`/${CONSUL_CONTAINER_NAME}`))).toEqual([]);
    expect(events.some((e) => e.type === 'log' && e.message.startsWith('started container cluster-lab-consul'))).toBe(true);
  });
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
