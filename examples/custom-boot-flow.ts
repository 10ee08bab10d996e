/**
 * A custom boot flow composed from the packages: a cluster network over VXLAN (whatever the
 * config file says), a split-brain-safe leader election, and DHCP on the cluster link — without
 * Consul or Swarm, for a plain "give my machines a private network with stable addresses" setup.
 *
 * It uses the same building blocks as `cluster-lab start`: every change is recorded in a journal
 * (`StepRunner` + `Journal`), a failure or Ctrl-C rolls back what was done so far, and `--stop`
 * replays the journal backwards — also from another process, after a reboot.
 *
 * Run on every node at the same time (as root); the nodes elect one leader:
 *
 *   node examples/custom-boot-flow.ts                 # start
 *   node examples/custom-boot-flow.ts --stop          # undo everything it did
 *
 * Options: --config <file>, --state-dir <dir> (default /var/lib/cluster-lab-example, separate
 * from cluster-lab's own journal), --stop.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ClusterConfig,
  type EventSink,
  ExecaRunner,
  IpRoute2,
  Journal,
  type JournalEntry,
  loadConfig,
  StepRunner,
  type UndoHandler,
} from '@cluster-lab/core';
import { createDhcpClient, dnsmasqServer } from '@cluster-lab/dhcp';
import { createRealElectionDeps, electLeader } from '@cluster-lab/election';
import { createBackend, type TeardownState } from '@cluster-lab/vlan';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    'state-dir': { type: 'string', default: '/var/lib/cluster-lab-example' },
    stop: { type: 'boolean', default: false },
  },
});

// The "different backend": whatever the file says, this flow builds a VXLAN cluster link
// (flags/overrides win over the file and the environment, as in the CLI).
const { config } = await loadConfig({
  env: process.env,
  ...(values.config ? { file: values.config } : {}),
  overrides: { network: { backend: 'vxlan' }, stateDir: values['state-dir'] },
});

const runner = new ExecaRunner();
const network = new IpRoute2(runner);
const backend = createBackend(config, { network, runner });
const prefix = Number(config.subnet.split('/')[1]);

/** Progress lines like the CLI's (the events are the same ones `cluster-lab --json` prints). */
const onEvent: EventSink = (event) => {
  if (event.type === 'step-finished') console.log(`PASS ${event.title} (${event.durationMs} ms)${event.detail ? `: ${event.detail}` : ''}`);
  else if (event.type === 'step-failed')
    console.log(`FAIL ${event.title}: ${event.error.message}${event.error.hint ? `\n     hint: ${event.error.hint}` : ''}`);
  else if (event.type === 'undo') console.log(`undo ${event.description}${event.ok ? '' : ` FAILED: ${event.error}`}`);
};

/** How to undo each kind of change this flow records. Each must succeed when the change is already gone. */
function undoHandlers(cfg: ClusterConfig): Record<string, UndoHandler> {
  const data = (entry: JournalEntry) => entry.data as Record<string, string>;
  return {
    link: async (entry) => {
      await backend.teardown(entry.data as unknown as TeardownState);
    },
    'leader-address': async (entry) => {
      await network.delAddress(data(entry).link as string, data(entry).cidr as string);
    },
    'dhcp-server': async (entry) => {
      await dnsmasqServer({ runner, config: cfg, link: data(entry).link as string, uplink: cfg.interface }).stop();
    },
    'dhcp-lease': async (entry) => {
      await (await createDhcpClient({ runner, network, config: cfg, link: data(entry).link as string })).release();
    },
  };
}

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

const journal = await Journal.open(join(config.stateDir, 'journal.json'));
const steps = new StepRunner({ journal, undo: undoHandlers(config), onEvent, signal: stop.signal });

if (values.stop) {
  const { failed } = await steps.rollback('--stop');
  if (failed.length === 0) await journal.delete();
  process.exitCode = failed.length === 0 ? 0 : 1;
} else {
  const result = await steps.run(async () => {
    const link = await steps.step(
      'network',
      `Cluster link (${backend.kind})`,
      async (ctx) => {
        const ensured = await backend.ensure();
        if (ensured.created || ensured.broughtUp) {
          await ctx.record('link', backend.linkName, { created: ensured.created, broughtUp: ensured.broughtUp });
        }
        return ensured.link;
      },
      (l) => `${l.name}, MTU ${l.mtu}`,
    );

    const election = await steps.step(
      'election',
      'Leader election',
      async (ctx) => {
        const outcome = await electLeader({
          link: link.name,
          mac: link.mac,
          leaderAddress: config.leaderAddress,
          prefix,
          priority: config.priority,
          role: config.role,
          network,
          ...createRealElectionDeps({ runner, network, onEvent }),
          signal: ctx.signal,
          onEvent,
        });
        if (outcome.claimed) {
          const cidr = `${config.leaderAddress}/${prefix}`;
          await ctx.record('leader-address', cidr, { link: link.name, cidr });
        }
        return outcome;
      },
      (o) => `${o.role} among ${o.candidates} candidate(s) in ${o.durationMs} ms`,
    );

    if (election.role === 'leader') {
      await steps.step(
        'dhcp-server',
        'DHCP server on the cluster link',
        async (ctx) => {
          const server = await dnsmasqServer({ runner, config, link: link.name, uplink: config.interface }).start();
          if (server.started) await ctx.record('dhcp-server', server.pidFile, { link: link.name });
        },
        () => `${config.dhcp.rangeStart}–${config.dhcp.rangeEnd} on ${link.name} only`,
      );
      return { role: election.role, address: config.leaderAddress };
    }

    const lease = await steps.step(
      'dhcp-lease',
      'DHCP lease from the leader',
      async (ctx) => {
        const client = await createDhcpClient({ runner, network, config, link: link.name });
        const obtained = await client.obtain({ signal: ctx.signal });
        await ctx.record('dhcp-lease', link.name, { link: link.name });
        await client.startRenewal();
        return obtained;
      },
      (l) => `${l.ip}/${l.prefix} from ${l.serverId}`,
    );
    return { role: election.role, address: lease.ip };
  });
  await journal.setStatus('running');
  console.log(`this node is the ${result.role} at ${result.address} on ${backend.linkName}; undo with --stop`);
}
