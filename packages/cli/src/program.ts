import { Command } from 'commander';
import { isClusterLabError, loadConfig } from '@cluster-lab/core';
import { stringify } from 'yaml';

/** Version printed by `cluster-lab --version`. */
export const VERSION = '0.1.0';

/**
 * Runs the `cluster-lab` command line and returns the exit code (0 ok, 1 failure,
 * 2 usage/config error, 3 missing dependency).
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('cluster-lab')
    .description('Turn machines on one switch into a Docker Swarm + Consul cluster.')
    .version(VERSION)
    .option('-c, --config <file>', 'config file (YAML, JSON or legacy cluster.conf)')
    .option('--json', 'machine-readable output')
    .exitOverride();

  const config = program.command('config').description('validate or print the effective configuration');
  config
    .command('check')
    .description('validate the configuration and report every problem')
    .action(async () => {
      const { config: cfg, sources, warnings } = await loadConfig({ file: program.opts().config, env: process.env });
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(`configuration OK (${sources.join(' + ')}), role ${cfg.role}, backend ${cfg.network.backend}\n`);
    });
  config
    .command('print')
    .description('print the effective configuration')
    .action(async () => {
      const { config: cfg } = await loadConfig({ file: program.opts().config, env: process.env });
      process.stdout.write(program.opts().json ? `${JSON.stringify(cfg, null, 2)}\n` : stringify(cfg));
    });

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    if (isClusterLabError(error)) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
