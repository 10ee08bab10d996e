import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { openLab } from '@cluster-lab/lab';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { REPO_ROOT, readmeQuickStart } from './readme-commands.js';

describe('README quick start', () => {
  it('has the documented commands', () => {
    const { main, test, use } = readmeQuickStart();
    expect(main).toBe('bash scripts/lab.sh');
    expect(test).toBe('bash scripts/test.sh');
    expect(use[0]).toBe('source scripts/env.sh');
    expect(use.at(-1)).toMatch(/^npx cluster-lab lab down\b/);
  });

  it('.ci/run runs exactly the README test command', () => {
    const ci = readFileSync(`${REPO_ROOT}.ci/run`, 'utf8');
    expect(ci).toContain(`exec ${readmeQuickStart().test}`);
  });
});

/** A login shell's environment on a fresh machine: none of this test run's Node, npm or PATH. */
function freshShellEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
  };
  if (process.env.CI) env.CI = process.env.CI;
  return env;
}

/** Runs `script` in one bash, as a user typing it into one shell; never throws. */
function bash(script: string, cwd: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', script],
      { cwd, env: freshShellEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

const MARK = '@@readme-line';

/**
 * The README as a new user follows it: a fresh clone of the committed HEAD (no node_modules, no
 * dist, no .tools), the main command, then the "use the cluster" lines verbatim, in order, in one
 * shell. Which Consul the lab runs does not matter here.
 */
describe.skipIf(skipUnlessRoot())('README quick start on a fresh clone, verbatim', () => {
  let clone = '';
  afterAll(async () => {
    // Whatever happened, no lab stays behind (the clone's own build, else this one's).
    if (await openLab('cluster-lab')) {
      const cloneCli = join(clone, 'packages/cli/dist/bin.js');
      if (clone && existsSync(cloneCli)) execFileSync(process.execPath, [cloneCli, 'lab', 'down'], { stdio: 'ignore', timeout: 300_000 });
      else await runCli(['lab', 'down'], { timeoutMs: 300_000 });
    }
    if (clone) await rm(clone, { recursive: true, force: true });
  });

  it('lab.sh, then every "use the cluster" line exits 0 and shows what the README says', { timeout: 20 * 60_000, retry: 0 }, async () => {
    await runCli(['lab', 'down'], { timeoutMs: 300_000 });
    clone = await mkdtemp(join(tmpdir(), 'cl-readme-'));
    const head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--no-checkout', REPO_ROOT, clone]);
    execFileSync('git', ['-C', clone, 'checkout', '--quiet', head]);

    const { main, use } = readmeQuickStart(readFileSync(join(clone, 'README.md'), 'utf8'));
    const up = await bash(main, clone, 15 * 60_000);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(up.stdout).toMatch(/NODE\s+ROLE\s+ADDRESS/);

    // The lines exactly as written, one shell; after each, a marker with its exit code.
    const script = use.map((line, i) => `${line}\necho "${MARK} ${i} $?"`).join('\n');
    const run = await bash(script, clone, 10 * 60_000);
    const outputs = run.stdout.split(new RegExp(`^${MARK} \\d+ \\d+$`, 'm'));
    const codes = [...run.stdout.matchAll(new RegExp(`^${MARK} (\\d+) (\\d+)$`, 'gm'))].map((m) => [use[Number(m[1])], Number(m[2])]);
    expect(codes, `${run.stdout}\n${run.stderr}`).toEqual(use.map((line) => [line, 0]));
    expect(run.stderr).not.toContain('could not determine executable to run');

    const output = (prefix: string) => outputs[use.findIndex((l) => l.startsWith(prefix))] ?? '';
    expect(output('npx cluster-lab lab status')).toMatch(/NODE\s+ROLE\s+ADDRESS[\s\S]*node1[\s\S]*node2[\s\S]*node3/);
    expect(output('npx cluster-lab lab exec node1 -- docker node ls').match(/\bReady\b/g)).toHaveLength(3);
    expect(output('npx cluster-lab lab exec node3 -- ip -br addr')).toMatch(/192\.168\.200\.\d+\/24/);
    expect(output('npx cluster-lab lab exec node2 -- cluster-lab health')).toMatch(/^PASS /m);
    expect(output('npx cluster-lab lab exec node2 -- cluster-lab health')).not.toMatch(/^FAIL /m);
    expect(output('npx cluster-lab lab down')).toContain('lab removed (3 nodes)');
    expect(await openLab('cluster-lab')).toBeUndefined();
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain('cl-cluster-lab-');
  });
});
