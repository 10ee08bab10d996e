import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterSecret, deriveClusterKeys, ExecaRunner, parseConfig } from '@cluster-lab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryRuntime } from '../runtime/binary-runtime.js';
import { requireRealConsul } from '../test-support/real-consul.js';
import { type ConsulVersion, formatConsulVersion } from '../version/consul-version.js';
import { consulSecurity } from './consul-security.js';
import { type ConsulConfigFacts, renderConsulConfig } from './render-consul-config.js';

// The real agent here is Debian 11's 1.8.7 (the only Consul obtainable on this machine type:
// later Debian suites have no consul package and no npm package ships a Consul binary), so the
// 1.9+ and 1.11+ renders are covered by the golden unit tests and the key audit in
// render-consul-config.ts; this test proves every render for the installed version valid.
describe('every rendered config passes the real `consul validate`', () => {
  let bin: string;
  let dir: string;
  let version: ConsulVersion;
  const runner = new ExecaRunner();
  beforeAll(async () => {
    bin = await requireRealConsul();
    dir = await mkdtemp(join(tmpdir(), 'consul-validate-'));
    version = await new BinaryRuntime({ runner, binary: bin, runDir: dir }).version();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const roles = ['leader', 'follower'] as const;
  const kinds = ['server', 'client'] as const;
  for (const role of roles)
    for (const kind of kinds)
      for (const acl of [false, true])
        for (const encrypt of [false, true]) {
          it(`${role} ${kind}, ACL ${acl ? 'on' : 'off'}, encrypt ${encrypt ? 'on' : 'off'}`, async () => {
            const config = parseConfig({
              consul: {
                ...(acl ? { aclToken: 'f0e1d2c3-b4a5-4697-8877-665544332211' } : {}),
                ...(encrypt ? { encrypt: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=' } : {}),
              },
            });
            const facts: ConsulConfigFacts = {
              role,
              server: kind === 'server',
              clusterAddress: role === 'leader' ? '192.168.200.1' : '192.168.200.101',
              leaderAddress: '192.168.200.1',
              nodeName: `${role}-${kind}`,
              nodeId: '609ab9ba-08a2-7af0-086f-1a11f44b9c21',
              dataDir: join(dir, 'data'),
              version,
            };
            const { json, config: rendered } = renderConsulConfig(config, facts);
            // The leader always runs the bootstrapping server, whatever `server` says.
            expect(rendered.server).toBe(role === 'leader' || kind === 'server');
            const file = join(dir, `${role}-${kind}-${acl}-${encrypt}.json`);
            await writeFile(file, json, { mode: 0o600 });
            const result = await runner.run(bin, ['validate', file], { reject: false });
            expect(result.stdout + result.stderr, `consul ${formatConsulVersion(version)} validate ${file}`).toContain(
              'Configuration is valid!',
            );
            expect(result.exitCode).toBe(0);
          });
        }

  // The same matrix with every value derived from a cluster secret (no consul.encrypt/aclToken):
  // servers hold the management token and their own agent token, clients only their agent token.
  const keys = deriveClusterKeys(ClusterSecret.fromBytes(Buffer.alloc(32, 3)));
  for (const role of roles)
    for (const kind of kinds) {
      it(`${role} ${kind}, ACL and encrypt derived from the cluster secret`, async () => {
        const config = parseConfig({});
        const nodeName = `${role}-${kind}`;
        const { json, config: rendered } = renderConsulConfig(
          config,
          {
            role,
            server: kind === 'server',
            clusterAddress: role === 'leader' ? '192.168.200.1' : '192.168.200.101',
            leaderAddress: '192.168.200.1',
            nodeName,
            nodeId: '609ab9ba-08a2-7af0-086f-1a11f44b9c21',
            dataDir: join(dir, 'data'),
            version,
          },
          consulSecurity(config, keys, nodeName),
        );
        expect(rendered.encrypt).toBe(keys.gossipKey);
        expect(rendered.acl?.tokens.agent).toBe(keys.agentToken(nodeName));
        const file = join(dir, `${nodeName}-derived.json`);
        await writeFile(file, json, { mode: 0o600 });
        const result = await runner.run(bin, ['validate', file], { reject: false });
        expect(result.stdout + result.stderr, `consul ${formatConsulVersion(version)} validate ${file}`).toContain(
          'Configuration is valid!',
        );
        expect(result.exitCode).toBe(0);
      });
    }

  it('a leader taking over an existing cluster (bootstrap: false, join the servers) is valid too', async () => {
    const { json } = renderConsulConfig(parseConfig({}), {
      role: 'leader',
      server: true,
      clusterAddress: '192.168.200.1',
      leaderAddress: '192.168.200.1',
      nodeName: 'takeover',
      nodeId: '609ab9ba-08a2-7af0-086f-1a11f44b9c21',
      dataDir: join(dir, 'data'),
      bootstrap: false,
      join: ['192.168.200.101', '192.168.200.102'],
      version,
    });
    const file = join(dir, 'takeover.json');
    await writeFile(file, json);
    expect((await runner.run(bin, ['validate', file])).stdout).toContain('Configuration is valid!');
  });

  it('an HA leader (bootstrap_expect 3) is valid too', async () => {
    const { json } = renderConsulConfig(parseConfig({}), {
      role: 'leader',
      server: true,
      clusterAddress: '192.168.200.1',
      leaderAddress: '192.168.200.1',
      nodeName: 'ha',
      nodeId: '609ab9ba-08a2-7af0-086f-1a11f44b9c21',
      dataDir: join(dir, 'data'),
      bootstrapExpect: 3,
      version,
    });
    const file = join(dir, 'ha.json');
    await writeFile(file, json);
    expect((await runner.run(bin, ['validate', file])).stdout).toContain('Configuration is valid!');
  });
});
