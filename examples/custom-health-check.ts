/**
 * Add your own health checks next to Cluster Lab's (every check of `cluster-lab health`, from
 * `@cluster-lab/node`) and run them with the same runner that powers `cluster-lab health`: each
 * check returns PASS/WARN/FAIL/SKIP with a hint, a check that throws or hangs becomes a FAIL
 * instead of hiding the others, and the exit code is non-zero on any FAIL.
 *
 * Run on a node (as root, after `cluster-lab start`):
 *
 *   node examples/custom-health-check.ts --config /etc/cluster-lab/config.yaml
 */
import { statfs } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  type Check,
  type ClusterConfig,
  type CommandRunner,
  fail,
  loadConfig,
  type Network,
  pass,
  runChecks,
  skip,
  warn,
} from '@cluster-lab/core';
import { loadNodeFacts, nodeChecks, readJournalView } from '@cluster-lab/node';

/** A cluster lease must never replace the node's route to the internet. */
function noDefaultRouteOnClusterLink(ip: Network, link: string): Check {
  return {
    id: 'example.no-default-route-on-cluster-link',
    title: 'default route stays on the uplink',
    async run() {
      const defaults = (await ip.routes()).filter((r) => r.dst === 'default');
      const onCluster = defaults.filter((r) => r.dev === link);
      if (onCluster.length > 0) {
        return fail(
          `default route via ${onCluster[0]?.gateway ?? '?'} on ${link}`,
          'unset dhcp.router, or remove the route: ip route del default dev ' + link,
        );
      }
      if (defaults.length === 0) return warn('no default route at all', 'nodes need the uplink for image pulls');
      return pass(`default route on ${defaults.map((r) => r.dev).join(', ')}`);
    },
  };
}

/** The leader address answers on the cluster link. */
function leaderAnswersPing(runner: CommandRunner, config: ClusterConfig, link: string): Check {
  return {
    id: 'example.leader-ping',
    title: `leader ${config.leaderAddress} answers ping`,
    async run(signal) {
      const result = await runner.run('ping', ['-c', '1', '-W', '1', '-I', link, config.leaderAddress], {
        reject: false,
        signal,
        timeoutMs: 3000,
      });
      return result.exitCode === 0
        ? pass(`reply in ${result.durationMs} ms`)
        : fail(`no reply from ${config.leaderAddress} on ${link}`, 'is the leader up? run `cluster-lab health` on it');
    },
  };
}

/** The state directory (journal, leases, Consul data) has room to grow. */
function stateDirHasSpace(config: ClusterConfig, minFreeMiB = 100): Check {
  return {
    id: 'example.state-dir-space',
    title: `free space in ${config.stateDir}`,
    async run() {
      let stats: Awaited<ReturnType<typeof statfs>>;
      try {
        stats = await statfs(config.stateDir);
      } catch {
        return skip(`${config.stateDir} does not exist yet (node never started)`);
      }
      const freeMiB = Math.floor((stats.bavail * stats.bsize) / 2 ** 20);
      return freeMiB >= minFreeMiB
        ? pass(`${freeMiB} MiB free`)
        : warn(`only ${freeMiB} MiB free`, 'an SD card that fills up corrupts Consul and Swarm state');
    },
  };
}

const { values } = parseArgs({ options: { config: { type: 'string' } } });
const { config } = await loadConfig({ env: process.env, ...(values.config ? { file: values.config } : {}) });
// The node with its cluster keys: loadNodeFacts reads secretFile (unless `security: open`).
const node = await loadNodeFacts(config);
const { runner, network, linkName } = node;

// Cluster Lab's own checks (what `cluster-lab health` runs, against what `start` recorded), then ours.
const checks: Check[] = [
  ...nodeChecks({ node, journal: await readJournalView(node) }),
  noDefaultRouteOnClusterLink(network, linkName),
  leaderAnswersPing(runner, config, linkName),
  stateDirHasSpace(config),
];
const report = await runChecks(checks, {
  timeoutMs: 5000,
  onResult: (r) => console.log(`${r.status.padEnd(4)} ${r.title}: ${r.detail}${r.hint ? `\n     hint: ${r.hint}` : ''}`),
});
console.log(`${report.counts.PASS} passed, ${report.counts.WARN} warnings, ${report.counts.FAIL} failed`);
process.exitCode = report.ok ? 0 : 1;
