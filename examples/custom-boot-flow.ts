/**
 * A custom boot flow composed from `@cluster-lab/node`'s role functions: a cluster network over
 * VXLAN (whatever the config file says), the split-brain-safe leader election, and DHCP on the
 * cluster link — without Consul or Swarm, for a plain "give my machines a private network with
 * stable addresses" setup.
 *
 * It uses the same building blocks as `cluster-lab start`, in an order of its own: every change
 * is recorded in a journal (`StepRunner` + `Journal`) under the journal kinds whose undo handlers
 * `@cluster-lab/node` provides, so a failure or Ctrl-C rolls back what was done so far, and
 * `--stop` replays the journal backwards — also from another process, after a reboot.
 *
 * Run on every node at the same time (as root); the nodes elect one leader:
 *
 *   node examples/custom-boot-flow.ts                 # start
 *   node examples/custom-boot-flow.ts --stop          # undo everything it did
 *
 * Options: --config <file>, --state-dir <dir> (default /var/lib/cluster-lab-example, separate
 * from cluster-lab's own journal), --stop.
 */
import { parseArgs } from 'node:util';
import { type EventSink, Journal, loadConfig, StepRunner } from '@cluster-lab/core';
import {
  createNodeServices,
  electNode,
  ensureClusterLink,
  JOURNAL_KINDS,
  loadNodeFacts,
  obtainLease,
  preflight,
  serviceContext,
  startDhcpServer,
  undoHandlers,
} from '@cluster-lab/node';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    'state-dir': { type: 'string', default: '/var/lib/cluster-lab-example' },
    stop: { type: 'boolean', default: false },
  },
});

// The "different backend": whatever the file says, this flow builds a VXLAN cluster link
// (overrides win over the file and the environment, as flags do in the CLI).
const { config } = await loadConfig({
  env: process.env,
  ...(values.config ? { file: values.config } : {}),
  overrides: { network: { backend: 'vxlan' }, stateDir: values['state-dir'], consul: { enabled: false }, swarm: { enabled: false } },
});
// The node with its cluster keys: loadNodeFacts reads secretFile (unless `security: open`).
const node = await loadNodeFacts(config);

/** Progress lines like the CLI's (the events are the same ones `cluster-lab --json` prints). */
const onEvent: EventSink = (event) => {
  if (event.type === 'step-finished') console.log(`PASS ${event.title} (${event.durationMs} ms)${event.detail ? `: ${event.detail}` : ''}`);
  else if (event.type === 'step-failed')
    console.log(`FAIL ${event.title}: ${event.error.message}${event.error.hint ? `\n     hint: ${event.error.hint}` : ''}`);
  else if (event.type === 'undo') console.log(`undo ${event.description}${event.ok ? '' : ` FAILED: ${event.error}`}`);
};

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

const ctx = serviceContext(node, { signal: stop.signal, onEvent });
const journal = await Journal.open(node.paths.journal);
// The stock undo handlers: each knows how to take back one kind of change, and succeeds when it is already gone.
const steps = new StepRunner({ journal, undo: undoHandlers(createNodeServices(), ctx), onEvent, signal: stop.signal });

if (values.stop) {
  const { failed } = await steps.rollback('--stop');
  if (failed.length === 0) await journal.delete();
  process.exitCode = failed.length === 0 ? 0 : 1;
} else {
  const result = await steps.run(async () => {
    await steps.step('preflight', 'Check configuration and dependencies', () => preflight(ctx));
    const link = await steps.step(
      'network',
      `Cluster link (${node.backend.kind})`,
      async (step) => {
        const change = await ensureClusterLink(ctx);
        // Record only what this run changed: a link that was already there stays on --stop.
        if (change.created || change.broughtUp) await step.record(JOURNAL_KINDS.link, change.name, { ...change });
        return change;
      },
      (l) => `${l.name}, MTU ${l.mtu}`,
    );

    const election = await steps.step(
      'election',
      'Leader election',
      async (step) => {
        const outcome = await electNode(ctx, link);
        if (outcome.claimed) await step.record(JOURNAL_KINDS.leaderAddress, node.leaderCidr, { link: link.name, cidr: node.leaderCidr });
        return outcome;
      },
      (o) => `${o.role} among ${o.candidates} candidate(s)`,
    );

    if (election.role === 'leader') {
      await steps.step(
        'dhcp-server',
        'DHCP server on the cluster link',
        async (step) => {
          const server = await startDhcpServer(ctx, link, election);
          if (server.started) await step.record(JOURNAL_KINDS.dhcpServer, server.pidFile, { ...server });
        },
        () => `${config.dhcp.rangeStart}–${config.dhcp.rangeEnd} on ${link.name} only`,
      );
      return { role: election.role, address: config.leaderAddress };
    }

    const lease = await steps.step(
      'dhcp-lease',
      'DHCP lease from the leader',
      async (step) => {
        const outcome = await obtainLease(ctx, link, election);
        await step.record(JOURNAL_KINDS.dhcpLease, link.name, { link: link.name, lease: { ...outcome } });
        return outcome;
      },
      (l) => `${l.cidr} from ${l.serverId}`,
    );
    return { role: election.role, address: lease.ip };
  });
  await journal.setStatus('running');
  console.log(`this node is the ${result.role} at ${result.address} on ${node.linkName}; undo with --stop`);
}
