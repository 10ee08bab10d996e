import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CheckResult,
  ConfigError,
  deriveClusterKeys,
  FakeRunner,
  generateSecret,
  InMemoryNetwork,
  OPEN_SECURITY_WARNING,
  type ProgressEvent,
  parseConfig,
} from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serviceContext } from '../boot/service-context.js';
import { nodeChecks } from '../health/node-checks.js';
import { nodeFacts } from '../node-facts.js';
import { preflight } from '../services/preflight.js';
import { loadNodeFacts } from './load-node-facts.js';
import { securityPreflight } from './security-preflight.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-node-sec-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function writeSecret(): Promise<{ secretFile: string; keys: ReturnType<typeof deriveClusterKeys> }> {
  const secret = generateSecret();
  const secretFile = join(dir, 'secret');
  await writeFile(secretFile, `${secret.toText()}\n`);
  await chmod(secretFile, 0o600);
  return { secretFile, keys: deriveClusterKeys(secret) };
}

const network = () => new InMemoryNetwork().withLink('eth0', { mac: '02:00:00:00:00:01' });
const opts = () => ({ runner: new FakeRunner(), network: network(), hostname: 'pi1' });

describe('loadNodeFacts', () => {
  it('loads the keys of the secret file once into node.keys', async () => {
    const { secretFile, keys } = await writeSecret();
    const node = await loadNodeFacts(parseConfig({ stateDir: dir, secretFile }), opts());
    expect(node.keys?.fingerprint).toBe(keys.fingerprint);
    expect(node.keys?.agentToken('pi1')).toBe(keys.agentToken('pi1'));
  });

  it('never shows the keys when the node is printed or serialised', async () => {
    const { secretFile, keys } = await writeSecret();
    const node = await loadNodeFacts(parseConfig({ stateDir: dir, secretFile }), opts());
    const { inspect } = await import('node:util');
    for (const text of [
      JSON.stringify({ ...node, docker: undefined, network: undefined, runner: undefined }),
      inspect(node, { depth: 4 }),
    ]) {
      expect(text).not.toContain(keys.managementToken);
      expect(text).not.toContain(keys.gossipKey);
    }
    expect(node.keys?.managementToken).toBe(keys.managementToken);
  });

  it('has no keys with security: open, or when the file is missing (preflight refuses that)', async () => {
    expect((await loadNodeFacts(parseConfig({ stateDir: dir, security: 'open' }), opts())).keys).toBeUndefined();
    expect((await loadNodeFacts(parseConfig({ stateDir: dir, secretFile: join(dir, 'none') }), opts())).keys).toBeUndefined();
  });
});

describe("start's preflight", () => {
  it('refuses a missing secret file with exit code 2 and the command that creates it, listed with the other host problems', async () => {
    const secretFile = join(dir, 'none');
    const node = await loadNodeFacts(parseConfig({ stateDir: dir, secretFile, interface: 'eth9' }), opts());
    const error = (await preflight(serviceContext(node)).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(2);
    expect(error.problems.map((p) => p.path)).toEqual(['interface', 'secretFile']);
    expect(error.problems[1]?.hint).toContain(`sudo cluster-lab secret generate --output ${secretFile}`);
  });

  it('security: open warns on every run', async () => {
    const events: ProgressEvent[] = [];
    const node = nodeFacts(parseConfig({ stateDir: dir, security: 'open' }), opts());
    securityPreflight(node, (e) => events.push(e));
    securityPreflight(node, (e) => events.push(e));
    expect(events.filter((e) => e.type === 'log' && e.level === 'warn' && e.message.startsWith(OPEN_SECURITY_WARNING))).toHaveLength(2);
  });

  it('a node built without its keys does not start unauthenticated', async () => {
    const { secretFile } = await writeSecret();
    const node = nodeFacts(parseConfig({ stateDir: dir, secretFile }), opts());
    expect(() => securityPreflight(node, () => {})).toThrow(expect.objectContaining({ code: 'NODE_KEYS_MISSING', exitCode: 2 }));
  });
});

describe('health: the cluster secret', () => {
  async function secretCheck(config: ReturnType<typeof parseConfig>): Promise<CheckResult> {
    const node = await loadNodeFacts(config, opts());
    const check = nodeChecks({ node, journal: undefined }).find((c) => c.id === 'cluster-secret');
    if (!check) throw new Error('no cluster-secret check');
    return check.run(new AbortController().signal);
  }

  it('passes with the fingerprint (never the secret)', async () => {
    const { secretFile, keys } = await writeSecret();
    const result = await secretCheck(parseConfig({ stateDir: dir, secretFile }));
    expect(result).toMatchObject({ status: 'PASS', detail: `${secretFile}, fingerprint ${keys.fingerprint}` });
  });

  it('WARNs on every run with security: open', async () => {
    const result = await secretCheck(parseConfig({ stateDir: dir, security: 'open' }));
    expect(result).toMatchObject({ status: 'WARN', detail: OPEN_SECURITY_WARNING });
    expect(result.hint).toContain('cluster-lab secret generate');
  });

  it('FAILs with the fix when the file is group-readable', async () => {
    const { secretFile } = await writeSecret();
    await chmod(secretFile, 0o640);
    const result = await secretCheck(parseConfig({ stateDir: dir, secretFile }));
    expect(result).toMatchObject({ status: 'FAIL', hint: `run \`sudo chmod 600 ${secretFile}\`` });
  });
});
