import { Argument, Command, CommanderError, Option } from 'commander';
import { COMPLETION_SHELLS, type CompletionShell, completionScript } from './completion/completion-script.js';
import { closeLiveLines } from './output/live-line.js';
import { withTime } from './output/output.js';
import { VERSION } from './version.js';

const EXAMPLES = `
Examples:
  $ sudo cluster-lab start                       form or join the cluster (config: /etc/cluster-lab/config.yaml)
  $ sudo cluster-lab health                      PASS/FAIL for every step, with hints
  $ sudo cluster-lab status --json               role, link, leader, leases, Consul and Swarm as JSON
  $ sudo cluster-lab stop                        undo exactly what start did
  $ sudo cluster-lab probe --listen              on node A, then \`sudo cluster-lab probe\` on node B: does the switch pass the cluster link?
  $ cluster-lab config check -c cluster.conf     validate a (legacy) config file
  $ sudo cluster-lab lab up --nodes 3            a virtual 3-node cluster on this machine
  $ sudo cluster-lab lab exec node1 -- docker node ls

Exit codes: 0 ok, 1 failure, 2 usage or config error, 3 missing dependency.
Environment: CLUSTER_LAB_<FIELD> overrides config fields (CLUSTER_LAB_NETWORK__BACKEND=vxlan); CLUSTER_LAB_CONFIG is
the config file when --config is not given; CLUSTER_LAB_DEBUG=1 prints stack traces of unexpected errors; NO_COLOR
disables colour.
Shell completion: cluster-lab completion bash|zsh|fish (e.g. cluster-lab completion bash > /etc/bash_completion.d/cluster-lab).`;

type Action = (...args: unknown[]) => Promise<void>;

/** Command modules load on first use, so `--help` stays fast (no Docker/Consul clients loaded). */
function lazy(load: () => Promise<{ run: Action }>): Action {
  return async (...args) => {
    const mod = await load();
    await mod.run(...args);
  };
}

/** Builds the commander program (exported for tests and for embedding). */
export function buildProgram(): Command {
  const program = new Command('cluster-lab')
    .description(
      'Turn Linux machines on one switch into a Docker Swarm + Consul cluster: cluster link, leader election, DHCP, Consul, Swarm.',
    )
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file: YAML, JSON or legacy cluster.conf (default: /etc/cluster-lab/config.yaml if present)')
    .option('--state-dir <dir>', 'state directory (journal, leases, daemon configs)')
    .option('-v, --verbose', 'print every step and daemon detail')
    .option('--json', 'machine-readable output: one JSON object per line')
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(run with --help for usage)')
    // Subcommands inherit both (commander copies settings into commands made after this), so
    // `cluster-lab start --help` lists --config, --json, … under "Global Options".
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();

  const configFlags = (cmd: Command) =>
    cmd
      .option('-i, --interface <name>', 'uplink interface (the cluster NIC itself for the native backend)')
      .addOption(new Option('-b, --backend <kind>', 'cluster link backend').choices(['vlan', 'native', 'vxlan']));
  // Only where the role changes what the command does: the boot flow and the effective config.
  const roleFlag = (cmd: Command) =>
    cmd.addOption(new Option('-r, --role <role>', 'pin the role instead of electing it').choices(['auto', 'leader', 'follower']));

  roleFlag(
    configFlags(
      program.command('start').description('form or join the cluster on this machine (idempotent; rolls back on failure or Ctrl-C)'),
    ),
  ).action(lazy(() => import('./commands/start-command.js')));
  configFlags(program.command('stop').description('undo exactly what start did, newest change first (safe to repeat)'))
    .option('--force', 'clean up by inspection when the journal is missing or corrupt')
    .option('--purge', 'also delete kept state (DHCP leases, cluster.json, daemon logs) from the state directory')
    .option(
      '--cluster-down',
      'every node of the cluster is stopping now (e.g. powering off the whole cluster): leave without the graceful steps that protect the nodes that stay',
    )
    .action(lazy(() => import('./commands/stop-command.js')));
  configFlags(
    program.command('status').description('role, cluster link and address, leader, DHCP leases, Consul members, Swarm nodes'),
  ).action(lazy(() => import('./commands/status-command.js')));
  configFlags(program.command('health').description('check every step and print PASS/FAIL with hints; non-zero exit on any FAIL')).action(
    lazy(() => import('./commands/health-command.js')),
  );
  configFlags(
    program.command('probe').description('does the switch carry the cluster link? run with --listen on one node, then plain on another'),
  )
    .option('--listen', 'wait on a test address for a probe from another node')
    .action(lazy(() => import('./commands/probe-command.js')));
  configFlags(program.command('dependencies').description('check (and with --install, install via apt) what start needs'))
    .option('--install', 'install missing Debian packages with apt-get')
    .action(lazy(() => import('./commands/dependencies-command.js')));

  program
    .command('restart', { hidden: true })
    .description('stop, then start again (used by the supervisor when the leader yields)')
    .action(lazy(() => import('./commands/restart-command.js')));
  program
    .command('supervise', { hidden: true })
    .description('keep the swarm reconciled (started by `start`)')
    .action(lazy(() => import('./commands/supervise-command.js')));

  const config = program.command('config').description('validate or print the effective configuration (defaults ← file ← env ← flags)');
  roleFlag(configFlags(config.command('check').description('validate; lists every problem with its field, value and a hint')))
    .option(
      '--file-only',
      "check the configuration alone, not this machine (interface, secret file, consul.binary): for another node's file",
    )
    .action(lazy(async () => ({ run: (await import('./commands/config-command.js')).runCheck })));
  roleFlag(configFlags(config.command('print').description('print the effective configuration with every default filled in'))).action(
    lazy(async () => ({ run: (await import('./commands/config-command.js')).runPrint })),
  );

  const secret = program
    .command('secret')
    .description("the cluster secret: generate one, check a node's copy, derive the Consul values from it");
  secret
    .command('generate')
    .description('print a new cluster secret, or write it with mode 0600 (--output); copy the same secret to every node')
    .option('-o, --output <file>', 'write it to this file (mode 0600, atomically) instead of printing it, e.g. /etc/cluster-lab/secret')
    .option('--force', 'replace an existing file (a new secret: every node needs the new copy)')
    .action(lazy(async () => ({ run: (await import('./commands/secret-command.js')).runGenerate })));
  configFlags(
    secret.command('fingerprint').description('check the secret file and print its fingerprint (equal on every node of one cluster)'),
  )
    .option('-f, --file <file>', 'secret file to read (default: secretFile from the config)')
    .action(lazy(async () => ({ run: (await import('./commands/secret-command.js')).runFingerprint })));
  configFlags(
    secret
      .command('derive')
      .description('print a value derived from the secret: gossip-key, management-token (CONSUL_HTTP_TOKEN), agent-token --node <name>')
      .argument('<what>', 'gossip-key, management-token or agent-token'),
  )
    .option('-f, --file <file>', 'secret file to read (default: secretFile from the config)')
    .option('--node <name>', 'Consul node name (agent-token)')
    .action(lazy(async () => ({ run: (await import('./commands/secret-command.js')).runDerive })));

  const lab = program.command('lab').description('a virtual N-node Cluster Lab on this machine (network namespaces + dockerd per node)');
  lab
    .command('up')
    .description('create the nodes, run `cluster-lab start` in all of them at once, wait until healthy, print status')
    .addOption(new Option('-n, --nodes <count>', 'number of nodes (2-12)').default('3'))
    .addOption(new Option('-b, --backend <kind>', 'cluster link backend inside the lab').choices(['vxlan', 'native']).default('vxlan'))
    .option('--keep', 'keep the lab when bring-up fails (for debugging)')
    .option('--fake-consul', "run the Consul TEST DOUBLE instead of real Consul (only to try the lab where Consul can't be installed)")
    .action(lazy(async () => ({ run: (await import('./commands/lab-command.js')).runUp })));
  lab
    .command('status')
    .description('status of every lab node')
    .action(lazy(async () => ({ run: (await import('./commands/lab-command.js')).runStatus })));
  lab
    .command('exec')
    .description('run a command inside a lab node (DOCKER_HOST points at that node)')
    .argument('<node>', 'node name, e.g. node1')
    .argument('<command...>', 'command and arguments (put them after --)')
    .action(lazy(async () => ({ run: (await import('./commands/lab-command.js')).runExec })));
  lab
    .command('down')
    .description('stop every node and remove the lab; leaves no trace')
    .action(lazy(async () => ({ run: (await import('./commands/lab-command.js')).runDown })));

  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish), generated from this program')
    .addArgument(new Argument('<shell>', 'shell to complete for').choices(COMPLETION_SHELLS))
    .action((shell: CompletionShell) => {
      process.stdout.write(completionScript(program, shell));
    });
  return program;
}

/**
 * Runs the `cluster-lab` command line and returns the exit code: 0 ok, 1 failure, 2 usage or
 * config error, 3 missing dependency. Errors print as one line of what and one line of hint.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    closeLiveLines(); // before the error, so it does not print into a live line
    return reportError(error, argv.includes('--json'));
  } finally {
    closeLiveLines();
  }
}

function reportError(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return 2;
  }
  const e = error as { code?: unknown; hint?: unknown; errorClass?: unknown; message?: unknown };
  const isOurs = error instanceof Error && typeof e.code === 'string' && typeof e.errorClass === 'string';
  const message = error instanceof Error ? error.message : String(error);
  const hint = isOurs && typeof e.hint === 'string' ? e.hint : undefined;
  const exit = !isOurs ? 1 : e.errorClass === 'usage' || e.errorClass === 'config' ? 2 : e.errorClass === 'dependency' ? 3 : 1;
  if (json) {
    process.stdout.write(
      `${JSON.stringify(withTime({ type: 'error', code: isOurs ? e.code : 'UNEXPECTED', message, ...(hint ? { hint } : {}), exitCode: exit }))}\n`,
    );
  } else {
    const colour = Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
    process.stderr.write(`${colour ? '\u001b[31merror:\u001b[0m' : 'error:'} ${message}\n${hint ? `hint: ${hint}\n` : ''}`);
    if (!isOurs && process.env.CLUSTER_LAB_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  }
  return exit;
}
