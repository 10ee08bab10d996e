import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createVmWire, runInVm, VM_DEFAULT_PATH, type VmRunResult } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI_BIN, jsonLines } from './cli-process.js';

const GUEST = fileURLToPath(new URL('./probe-vm-guest.sh', import.meta.url));

// Two VMs with Debian's kernel, their eth0 on one cable (a switch that passes 802.1Q tags), run
// the built CLI as two machines would: A `probe --listen`, B `probe` with VLAN 200 and then
// with VLAN 300 — the far end of a switch that does not carry B's VLAN to A.
describe.skipIf(skipUnlessRoot())('cluster-lab probe between two machines on a real 802.1Q kernel', () => {
  let shared: string | undefined;
  let vms: VmRunResult[];
  const read = (name: string) => readFile(join(shared as string, name), 'utf8');

  beforeAll(async () => {
    if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing: run \`npm run build\` first`);
    shared = await mkdtemp(join(tmpdir(), 'cl-probevm-'));
    const config = (vlanId: number) => stringify({ interface: 'eth0', network: { backend: 'vlan', vlanId }, stateDir: '/run/cl' });
    await writeFile(join(shared, 'listen.yaml'), config(200));
    await writeFile(join(shared, 'probe-200.yaml'), config(200));
    await writeFile(join(shared, 'probe-300.yaml'), config(300));
    await using wire = await createVmWire();
    const vm = (role: string, end: 0 | 1) =>
      runInVm({
        command: ['/bin/sh', GUEST, role, process.execPath, CLI_BIN, '/run/share0'],
        shares: [shared as string],
        nics: [{ wire: wire.ends[end] }],
        env: { PATH: VM_DEFAULT_PATH, NODE_COMPILE_CACHE: '/tmp/node-compile-cache' },
        timeoutMs: 200_000,
      });
    vms = await Promise.all([vm('listen', 0), vm('probe', 1)]);
    for (const v of vms) expect(v.exitCode, `${v.stderr}\n${v.stdout}`).toBe(0);
  });

  afterAll(async () => {
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  it('PASSes over VLAN 200 on both machines', async () => {
    expect(jsonLines(await read('listen.out'))[0]).toMatchObject({
      type: 'probe-listening',
      address: '198.18.200.1',
      link: 'eth0.200',
      backend: 'vlan',
    });
    expect(await read('probe-200.code')).toBe('0\n');
    const [result] = jsonLines(await read('probe-200.out'));
    expect(result).toMatchObject({ type: 'probe', reachable: true, link: 'eth0.200', from: '198.18.200.2', to: '198.18.200.1' });
  });

  it('FAILs with the tagged-frames hint when the other machine is on another VLAN id', async () => {
    expect(await read('probe-300.code')).toBe('1\n');
    const [result] = jsonLines(await read('probe-300.out'));
    expect(result).toMatchObject({ type: 'probe', reachable: false, link: 'eth0.300' });
    expect(result?.hint).toBe(
      'the switch may drop 802.1Q-tagged frames: make the ports trunks carrying VLAN 300, or set network.backend to vxlan (works over any switch)',
    );
  });

  it('each machine is left as it was: no VLAN link, no probe address; the listener exits 0 on Ctrl-C', async () => {
    expect(await read('listen.code')).toBe('0\n');
    for (const role of ['listen', 'probe']) {
      const links = JSON.parse(await read(`${role}.links.json`)) as { ifname: string }[];
      expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
      const addresses = JSON.parse(await read(`${role}.addresses.json`)) as { addr_info: { local: string }[] }[];
      expect(addresses.flatMap((a) => a.addr_info.map((x) => x.local)).filter((a) => a.startsWith('198.18.'))).toEqual([]);
    }
  });
});
