import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';

function help(...path: string[]): string {
  let cmd: Command = buildProgram();
  for (const name of path) {
    const next = cmd.commands.find((c) => c.name() === name);
    if (!next) throw new Error(`no command ${path.join(' ')}`);
    cmd = next;
  }
  return cmd.helpInformation();
}

describe('cluster-lab --help', () => {
  it.each([['status'], ['health'], ['dependencies'], ['stop'], ['probe']])('%s does not offer to pin the role', (name) => {
    expect(help(name)).not.toMatch(/--role|pin the role/);
    expect(help(name)).toContain('--interface');
  });

  it.each([['start'], ['config', 'check'], ['config', 'print']])('%s offers --role', (...path) => {
    expect(help(...path)).toContain('-r, --role <role>');
  });

  it.each([['start'], ['health'], ['lab', 'up'], ['config', 'check'], ['completion']])(
    '%s lists the global options under their own heading',
    (...path) => {
      const text = help(...path);
      expect(text).toContain('Global Options:');
      const global = text.slice(text.indexOf('Global Options:'));
      for (const flag of ['-c, --config <file>', '--state-dir <dir>', '-v, --verbose', '--json']) expect(global).toContain(flag);
    },
  );

  it('names the program’s own environment variables and shell completion', () => {
    const top = buildProgram();
    let text = '';
    top.configureOutput({ writeOut: (s) => (text += s) });
    top.outputHelp();
    expect(text).toContain('CLUSTER_LAB_CONFIG');
    expect(text).toContain('CLUSTER_LAB_DEBUG');
    expect(text).toContain('cluster-lab completion bash|zsh|fish');
  });
});
