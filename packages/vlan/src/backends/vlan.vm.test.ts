import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createVmWire, runInVm, type VmRunResult } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForVm } from '../testing/bundle-for-vm.js';
import type { GuestReport, Outcome } from './vlan.vm-guest.js';

/** The scenario's observation; a scenario that threw fails here with the guest's error. */
function value<T>(outcome: Outcome<T>): T {
  if (!outcome.ok)
    throw new Error(`the scenario failed in the VM: ${outcome.error.name} ${outcome.error.code ?? ''}: ${outcome.error.message}`);
  return outcome.value;
}

// One boot runs every scenario (a boot costs 5–10 s under TCG): vlan.vm-guest.ts drives the
// backend against Debian's kernel and reports; the tests below assert on the report.
describe.skipIf(skipUnlessRoot())('vlan backend on a real 802.1Q kernel', () => {
  let dir: string | undefined;
  let vm: VmRunResult;
  let report: GuestReport;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-vlanvm-'));
    // The host's /tmp is a fresh tmpfs in the VM; the bundle reaches it as a shared folder.
    const script = await bundleForVm(new URL('./vlan.vm-guest.ts', import.meta.url), dir);
    // eth0 and eth1 of the VM are cabled to each other (the probe scenario needs a far end).
    await using wire = await createVmWire();
    vm = await runInVm({
      command: [process.execPath, `/run/share0/${script}`],
      shares: [dir],
      nics: [{ wire: wire.ends[0] }, { wire: wire.ends[1] }],
      timeoutMs: 200_000,
    });
    if (vm.exitCode !== 0) throw new Error(`the guest program exited ${vm.exitCode}:\n${vm.stderr}\n${vm.stdout}`);
    report = JSON.parse(vm.stdout) as GuestReport;
    const scenarios = Object.entries(report).filter(([, v]) => typeof v === 'object' && v !== null && 'ms' in v);
    console.info(
      `VM run ${vm.durationMs} ms; node ready after ${report.startedMs} ms; ${scenarios.map(([k, v]) => `${k} ${(v as { ms: number }).ms} ms`).join(', ')}`,
    );
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('boots Debian’s kernel with two cabled virtio NICs', () => {
    expect(report.kernel).toMatch(/-amd64$/);
    expect(report.uplinks.links.map((l) => [l.name, l.up])).toEqual([
      ['lo', false],
      ['eth0', true],
      ['eth1', true],
    ]);
  });

  it('ensure creates eth0.200: an 802.1Q link with id 200 on eth0, up, with the uplink’s MTU', () => {
    const { first, link, procId } = value(report.defaultLink);
    expect(first).toMatchObject({ created: true, broughtUp: true, link: { name: 'eth0.200', mtu: 1500, up: true, addresses: [] } });
    expect(link).toMatchObject({
      name: 'eth0.200',
      kind: 'vlan',
      parent: 'eth0',
      vlan: { id: 200, protocol: '802.1Q' },
      mtu: 1500,
      up: true,
      operState: 'UP',
    });
    // A VLAN link takes its parent's MAC; the election ties on it.
    const eth0 = report.uplinks.links.find((l) => l.name === 'eth0');
    expect(link.mac).toBe(eth0?.mac);
    expect(first.link.mac).toBe(eth0?.mac);
    // The kernel's own 802.1Q table agrees with iproute2.
    expect(procId).toBe(200);
  });

  it('describe reads the link back as healthy', () => {
    const { description, link } = value(report.defaultLink);
    expect(description).toEqual({
      kind: 'vlan',
      name: 'eth0.200',
      uplink: 'eth0',
      exists: true,
      up: true,
      kindMatches: true,
      actualKind: 'vlan',
      mtu: 1500,
      mac: link.mac,
      addresses: [],
      vlanId: 200,
      problems: [],
      ok: true,
    });
  });

  it('a second ensure changes nothing: same link (same ifindex), created and broughtUp false', () => {
    const { second, link, linkAfterSecond } = value(report.defaultLink);
    expect(second).toMatchObject({ created: false, broughtUp: false, link: { name: 'eth0.200', up: true } });
    expect(linkAfterSecond).toEqual(link);
  });

  it('teardown removes exactly the VLAN: links and the uplink’s addresses and routes as before; twice is harmless', () => {
    const { before, tornDown, after, tornDownAgain } = value(report.defaultLink);
    expect(before.links).toEqual(['eth0', 'eth1', 'lo']);
    expect(tornDown).toBe(true);
    expect(after).toEqual(before);
    expect(tornDownAgain).toBe(false);
  });

  it('a configured link name (network.vlanName) and MTU: cluster0, VLAN 300, MTU 1400', () => {
    const { first, link, procId, description, tornDown, after } = value(report.namedLink);
    expect(first).toMatchObject({ created: true, link: { name: 'cluster0', mtu: 1400, up: true } });
    expect(link).toMatchObject({ name: 'cluster0', kind: 'vlan', parent: 'eth0', vlan: { id: 300, protocol: '802.1Q' }, mtu: 1400 });
    expect(procId).toBe(300);
    expect(description).toMatchObject({ ok: true, vlanId: 300, mtu: 1400, expectedMtu: 1400 });
    expect(tornDown).toBe(true);
    expect(after).toEqual(['eth0', 'eth1', 'lo']);
  });

  it('a VLAN over two NICs: eth0.200 and eth1.200 side by side; removing one leaves the other', () => {
    const { results, both, descriptions, afterFirst, after } = value(report.twoNics);
    expect(results.map((r) => r.created)).toEqual([true, true]);
    expect(both.map((l) => [l.name, l.parent, l.vlan?.id]).sort()).toEqual([
      ['eth0.200', 'eth0', 200],
      ['eth1.200', 'eth1', 200],
    ]);
    expect(descriptions.map((d) => d.ok)).toEqual([true, true]);
    expect(afterFirst).toEqual(['eth0', 'eth1', 'eth1.200', 'lo']);
    expect(after).toEqual(['eth0', 'eth1', 'lo']);
  });

  it('reuses a matching VLAN someone else made (down): brings it up, and teardown only sets it down again', () => {
    const { ensured, tornDown, after } = value(report.reuseDown);
    expect(ensured).toMatchObject({ created: false, broughtUp: true, link: { name: 'eth0.200', up: true } });
    expect(tornDown).toBe(true);
    expect(after).toMatchObject({ name: 'eth0.200', vlan: { id: 200 }, up: false });
  });

  it('refuses a same-named VLAN with another id (LINK_CONFLICT) and leaves it alone', () => {
    const { error, description, after } = value(report.conflict);
    expect(error).toMatchObject({
      code: 'LINK_CONFLICT',
      message: 'interface "eth0.200" already exists as VLAN 300 on eth0, not VLAN 200 on eth0',
    });
    expect(description.problems.map((p) => p.code)).toEqual(['LINK_DOWN', 'VLAN_ID_MISMATCH']);
    expect(after).toMatchObject({ vlan: { id: 300 }, up: false });
  });

  it('a bad id, a missing parent or a too-large MTU give the typed error and change nothing', () => {
    const { badId, missingUplink, mtuTooLarge, kernelMissingParent, rawBadId, unchanged } = value(report.errors);
    expect(badId).toMatchObject({ name: 'BackendError', code: 'INVALID_VLAN_ID' });
    expect(missingUplink).toMatchObject({
      name: 'BackendError',
      code: 'UPLINK_NOT_FOUND',
      message: 'uplink interface "eth9" does not exist',
      hint: 'set `interface` to one of: eth0, eth1',
    });
    expect(mtuTooLarge).toMatchObject({ code: 'MTU_TOO_LARGE', hint: 'set network.mtu to 1500 or less' });
    // The kernel's answer for a missing parent, as core's `ip` wrapper maps it.
    expect(kernelMissingParent).toMatchObject({ name: 'LinkNotFoundError', code: 'LINK_NOT_FOUND' });
    expect(kernelMissingParent?.message).toContain('eth9');
    // iproute2 itself refuses 4095 before the kernel sees it; the backend refuses it earlier still.
    expect(rawBadId.exitCode).not.toBe(0);
    expect(unchanged).toBe(true);
  });

  it('probeLink answers across a real VLAN, and fails with the 802.1Q hint when the far end has another id', () => {
    const { same, otherId, addressesLeft, linksLeft } = value(report.probe);
    expect(same).toMatchObject({ reachable: true, link: 'eth0.200', from: '198.18.200.2', to: '198.18.200.1' });
    expect(same.detail).toMatch(/^198\.18\.200\.1 answered over eth0\.200/);
    expect(otherId).toMatchObject({ reachable: false, link: 'eth0.200' });
    expect(otherId.hint).toBe(
      'the switch may drop 802.1Q-tagged frames: make the ports trunks carrying VLAN 200, or set network.backend to vxlan (works over any switch)',
    );
    expect(addressesLeft).toEqual([]);
    expect(linksLeft.sort()).toEqual(['eth0', 'eth1', 'lo', 'lo']);
  });

  it('without the 8021q module ensure fails with KERNEL_NO_8021Q and its fix, leaving nothing', () => {
    const { unloaded, error, unchanged } = value(report.without8021q);
    expect(unloaded).toBe(true);
    expect(error).toMatchObject({ name: 'BackendError', code: 'KERNEL_NO_8021Q' });
    expect(error?.hint).toContain('modprobe 8021q');
    expect(unchanged).toBe(true);
  });
});
