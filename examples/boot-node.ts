/**
 * The whole Cluster Lab boot flow from a script of your own — cluster link, leader election,
 * DHCP, Consul, Swarm and the supervisor — with nothing but `@cluster-lab/node` and
 * `@cluster-lab/core`. It is what `cluster-lab start`/`stop` run, minus the command line: the same
 * journal (so `cluster-lab status`/`health` read what it did), the same rollback on failure or
 * Ctrl-C, the same idempotence.
 *
 * Run on every node at the same time (as root); the nodes elect one leader:
 *
 *   node examples/boot-node.ts start --config /etc/cluster-lab/config.yaml
 *   node examples/boot-node.ts stop  --config /etc/cluster-lab/config.yaml
 *
 * `start` leaves this script's own supervisor running (`supervise`: heartbeats, failover, yield
 * after a healed partition, swarm upkeep); you do not call it yourself.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type EventSink, exitCodeFor, isClusterLabError, loadConfig } from '@cluster-lab/core';
import { createNodeServices, loadNodeFacts, startNode, stopNode, superviseNode } from '@cluster-lab/node';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { config: { type: 'string' } } });
const command = positionals[0] ?? 'start';
const { config } = await loadConfig({ env: process.env, ...(values.config ? { file: values.config } : {}) });
// The node with its cluster keys: loadNodeFacts reads secretFile (unless `security: open`).
const node = await loadNodeFacts(config);

// The supervisor is this very script, with the config file it is given.
const self = fileURLToPath(import.meta.url);
const services = createNodeServices({ supervisor: { argv: (file) => [self, 'supervise', '--config', file] } });

/** One line per boot step, like the CLI's progress output. */
const onEvent: EventSink = (event) => {
  if (event.type === 'step-finished') console.log(`PASS ${event.title} (${event.durationMs} ms)${event.detail ? `: ${event.detail}` : ''}`);
  else if (event.type === 'step-failed') console.log(`FAIL ${event.title}: ${event.error.message}`);
  else if (event.type === 'undo') console.log(`undo ${event.description}${event.ok ? '' : ` FAILED: ${event.error}`}`);
  else if (event.type === 'log' && event.level === 'warn') console.log(`warning: ${event.message}`);
};

/** Aborts on the first Ctrl-C/SIGTERM: `start` stops between steps and rolls back; the supervisor ends. */
function abortOnSignal(): AbortSignal {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  return stop.signal;
}

async function start(): Promise<void> {
  const result = await startNode(node, { services, onEvent, signal: abortOnSignal() });
  console.log(
    result.alreadyRunning
      ? `already running: ${result.role} ${result.address} on ${result.link}`
      : `${result.role} ${result.address} on ${result.link}${result.swarmRole ? `, swarm ${result.swarmRole}` : ''} in ${result.durationMs} ms`,
  );
}

try {
  if (command === 'start') await start();
  else if (command === 'stop') {
    const result = await stopNode(node, { services, onEvent });
    console.log(result.wasRunning ? `stopped: undid ${result.undone} change(s)` : 'not running: nothing to stop');
  } else if (command === 'supervise') {
    await superviseNode(node, {
      signal: abortOnSignal(),
      log: (message) => console.log(`${new Date().toISOString()} ${message}`),
    });
  } else {
    console.error(`unknown command "${command}": use start or stop`);
    process.exitCode = 2;
  }
} catch (error) {
  // One line of what, one of how to fix it; the exit code by error class (as the CLI does).
  console.error(`error: ${(error as Error).message}`);
  if (isClusterLabError(error)) {
    if (error.hint) console.error(`hint: ${error.hint}`);
    process.exitCode = exitCodeFor(error.errorClass);
  } else process.exitCode = 1;
}
