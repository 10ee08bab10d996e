import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../program.js';
import { commandTree } from './command-tree.js';
import { completionScript } from './completion-script.js';

const has = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
// CI provisions zsh and fish (scripts/setup.sh --test); a developer without them skips those checks.
const runZsh = has('zsh') || Boolean(process.env.CI);
const runFish = has('fish') || Boolean(process.env.CI);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-completion-'));
  for (const shell of ['bash', 'zsh', 'fish'] as const) await writeFile(join(dir, shell), completionScript(buildProgram(), shell));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What bash offers for `cluster-lab <line>` (the last word is the one being completed). */
function bashComplete(line: string): string[] {
  const words = ['cluster-lab', ...line.split(' ')];
  const script = `source ${JSON.stringify(join(dir, 'bash'))}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_cluster_lab; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('completion scripts', () => {
  it('walk the same commands as --help, without the hidden ones', () => {
    const top = commandTree(buildProgram()).find((l) => l.path === '');
    expect(top?.subcommands.map((s) => s.name)).toEqual([
      'start',
      'stop',
      'status',
      'health',
      'probe',
      'dependencies',
      'config',
      'secret',
      'lab',
      'completion',
      'help',
    ]);
    expect(commandTree(buildProgram()).map((l) => l.path)).toContain('lab exec');
  });

  it('bash: parses (bash -n) and completes commands, subcommands, options and their values', () => {
    execFileSync('bash', ['-n', join(dir, 'bash')]);
    expect(bashComplete('')).toEqual([
      'start',
      'stop',
      'status',
      'health',
      'probe',
      'dependencies',
      'config',
      'secret',
      'lab',
      'completion',
      'help',
    ]);
    expect(bashComplete('lab ')).toEqual(['up', 'status', 'exec', 'down', 'help']);
    expect(bashComplete('config ch')).toEqual(['check']);
    expect(bashComplete('start --backend ')).toEqual(['vlan', 'native', 'vxlan']);
    expect(bashComplete('completion ')).toEqual(['bash', 'zsh', 'fish']);
    expect(bashComplete('secret ')).toEqual(expect.arrayContaining(['generate']));
    // A global option's value is skipped on the way down.
    expect(bashComplete('--config x.yaml lab ')).toEqual(['up', 'status', 'exec', 'down', 'help']);
    expect(bashComplete('health --')).toEqual(expect.arrayContaining(['--interface', '--backend', '--config', '--json', '--help']));
    expect(bashComplete('health --')).not.toContain('--role');
    expect(bashComplete('start --')).toContain('--role');
  });

  it.runIf(runZsh)('zsh: parses (zsh -n)', () => {
    execFileSync('zsh', ['-n', join(dir, 'zsh')]);
  });

  it.runIf(runFish)('fish: parses (fish --no-execute)', () => {
    execFileSync('fish', ['--no-execute', join(dir, 'fish')]);
  });

  it('zsh and fish list every visible command and option', async () => {
    const zsh = completionScript(buildProgram(), 'zsh');
    const fish = completionScript(buildProgram(), 'fish');
    for (const level of commandTree(buildProgram())) {
      for (const sub of level.subcommands) {
        expect(zsh).toContain(`'${sub.name}:`);
        expect(fish).toContain(`-a '${sub.name}'`);
      }
    }
    expect(zsh).toContain("compadd -- 'vlan' 'native' 'vxlan'");
    expect(fish).toContain("-l backend -x -a 'vlan native vxlan'");
    expect(zsh).not.toContain('supervise');
    expect(fish).not.toContain('supervise');
  });
});
