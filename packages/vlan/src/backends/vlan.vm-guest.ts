// Runs INSIDE the test VM (Debian's kernel, with 802.1Q), bundled from source by
// vlan.vm.test.ts: drives the real `vlan` backend against the real kernel and prints one JSON
// report of what it saw; the host-side test asserts on it. The VM's eth0 and eth1 are cabled to
// each other, so a probe from eth0 reaches eth1 once eth1 sits in its own namespace.
import { readFile } from 'node:fs/promises';
import { ExecaRunner, IpRoute2, isClusterLabError, type Link } from '@cluster-lab/core';
import { probeLink } from '../probe/probe-link.js';
import { type UplinkState, uplinkState } from '../testing/uplink-state.js';
import { VlanBackend } from './vlan.js';

/** A link as the test compares it. */
export interface SeenLink {
  name: string;
  kind: string | undefined;
  parent: string | undefined;
  vlan: { id: number; protocol: string } | undefined;
  mtu: number;
  up: boolean;
  operState: string;
  mac: string;
  index: number;
}

/** A thrown error as the test compares it. */
export interface SeenError {
  name: string;
  code: string | undefined;
  message: string;
  hint: string | undefined;
}

/** The outcome of one scenario: what it observed, or the error that stopped it. */
export type Outcome<T> = ({ ok: true; value: T } | { ok: false; error: SeenError }) & { ms: number };

const runner = new ExecaRunner();
const ip = new IpRoute2(runner);

function seenLink(link: Link): SeenLink {
  return {
    name: link.name,
    kind: link.kind,
    parent: link.parent,
    vlan: link.vlan,
    mtu: link.mtu,
    up: link.up,
    operState: link.operState,
    mac: link.mac,
    index: link.index,
  };
}

function seenError(error: unknown): SeenError {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    name: e.name,
    code: isClusterLabError(e) ? e.code : undefined,
    message: e.message,
    hint: isClusterLabError(e) ? e.hint : undefined,
  };
}

async function caught(fn: () => unknown): Promise<SeenError | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    return seenError(error);
  }
}

async function links(network = ip): Promise<SeenLink[]> {
  return (await network.listLinks()).map(seenLink);
}

async function linkNames(network = ip): Promise<string[]> {
  return (await network.listLinks()).map((l) => l.name).sort();
}

/** The kernel's own view of a VLAN device (`/proc/net/vlan/<name>`, first line: `<name>  VID: <id> …`). */
async function procVlanId(name: string): Promise<number | undefined> {
  const text = await readFile(`/proc/net/vlan/${name}`, 'utf8').catch(() => '');
  const m = /VID:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const value = await fn();
    return { ok: true, value, ms: ms() };
  } catch (error) {
    return { ok: false, error: seenError(error), ms: ms() };
  }
}

/** `ensure` twice, `describe`, `teardown` twice of the default `<uplink>.<id>`. */
async function defaultLink() {
  const backend = new VlanBackend({ uplink: 'eth0', id: 200 }, { network: ip, runner });
  const before = { links: await linkNames(), uplink: await uplinkState(ip, 'eth0') };
  const first = await backend.ensure();
  const link = seenLink(await ip.requireLink('eth0.200'));
  const procId = await procVlanId('eth0.200');
  const description = await backend.describe();
  const second = await backend.ensure();
  const linkAfterSecond = seenLink(await ip.requireLink('eth0.200'));
  const tornDown = await backend.teardown({ created: first.created, broughtUp: first.broughtUp });
  const after = { links: await linkNames(), uplink: await uplinkState(ip, 'eth0') };
  const tornDownAgain = await backend.teardown({ created: first.created, broughtUp: first.broughtUp });
  return { before, first, link, procId, description, second, linkAfterSecond, tornDown, after, tornDownAgain };
}

/** A configured name (`network.vlanName`) and MTU. */
async function namedLink() {
  const backend = new VlanBackend({ uplink: 'eth0', id: 300, name: 'cluster0', mtu: 1400 }, { network: ip, runner });
  const first = await backend.ensure();
  const link = seenLink(await ip.requireLink('cluster0'));
  const procId = await procVlanId('cluster0');
  const description = await backend.describe();
  const tornDown = await backend.teardown(first);
  return { first, link, procId, description, tornDown, after: await linkNames() };
}

/** VLAN 200 on both NICs at once; removing one leaves the other. */
async function twoNics() {
  const on0 = new VlanBackend({ uplink: 'eth0', id: 200 }, { network: ip, runner });
  const on1 = new VlanBackend({ uplink: 'eth1', id: 200 }, { network: ip, runner });
  const r0 = await on0.ensure();
  const r1 = await on1.ensure();
  const both = (await links()).filter((l) => l.kind === 'vlan');
  const descriptions = [await on0.describe(), await on1.describe()];
  await on0.teardown(r0);
  const afterFirst = await linkNames();
  await on1.teardown(r1);
  return { results: [r0, r1], both, descriptions, afterFirst, after: await linkNames() };
}

/** A VLAN someone else made (down): reused, brought up, and on teardown only set down again. */
async function reuseDown() {
  await ip.addLink({ kind: 'vlan', name: 'eth0.200', parent: 'eth0', id: 200 });
  try {
    const backend = new VlanBackend({ uplink: 'eth0', id: 200 }, { network: ip, runner });
    const ensured = await backend.ensure();
    const tornDown = await backend.teardown(ensured);
    return { ensured, tornDown, after: seenLink(await ip.requireLink('eth0.200')) };
  } finally {
    await ip.delLink('eth0.200');
  }
}

/** A same-named VLAN with another id is refused and left alone. */
async function conflict() {
  await ip.addLink({ kind: 'vlan', name: 'eth0.200', parent: 'eth0', id: 300 });
  try {
    const backend = new VlanBackend({ uplink: 'eth0', id: 200 }, { network: ip, runner });
    const error = await caught(() => backend.ensure());
    const description = await backend.describe();
    return { error, description, after: seenLink(await ip.requireLink('eth0.200')) };
  } finally {
    await ip.delLink('eth0.200');
  }
}

/** Bad input and a missing parent, at the backend and at the `ip` wrapper the backend uses. */
async function errors() {
  const before = await linkNames();
  const badId = await caught(() => new VlanBackend({ uplink: 'eth0', id: 4095 }, { network: ip, runner }));
  const missingUplink = await caught(() => new VlanBackend({ uplink: 'eth9', id: 200 }, { network: ip, runner }).ensure());
  const mtuTooLarge = await caught(() => new VlanBackend({ uplink: 'eth0', id: 200, mtu: 9000 }, { network: ip, runner }).ensure());
  // Below the backend's own checks: what the kernel answers through core's `ip` wrapper.
  const kernelMissingParent = await caught(() => ip.addLink({ kind: 'vlan', name: 'eth9.200', parent: 'eth9', id: 200 }));
  const rawBadId = await runner.run('ip', ['link', 'add', 'link', 'eth0', 'name', 'eth0.4095', 'type', 'vlan', 'id', '4095'], {
    reject: false,
  });
  return {
    badId,
    missingUplink,
    mtuTooLarge,
    kernelMissingParent,
    rawBadId: { exitCode: rawBadId.exitCode, stderr: rawBadId.stderr.trim() },
    unchanged: JSON.stringify(await linkNames()) === JSON.stringify(before),
  };
}

/**
 * `probeLink` across the cable: eth1 moves into namespace `peer`; VLAN 200 on both ends
 * answers, VLAN 300 on the peer (a switch that does not carry VLAN 200 to it) does not.
 */
async function probe() {
  const peerNs = 'peer';
  await runner.run('ip', ['netns', 'add', peerNs]);
  try {
    await ip.setNetns('eth1', peerNs);
    const peerIp = ip.in(peerNs);
    await peerIp.setUp('eth1');
    const local = new VlanBackend({ uplink: 'eth0', id: 200 }, { network: ip, runner });
    // One ping where no answer is expected: each unanswered one costs a second.
    const run = async (peerId: number, attempts: number) => {
      const peer = new VlanBackend({ uplink: 'eth1', id: peerId }, { network: peerIp, runner });
      const l = await local.ensure();
      const p = await peer.ensure();
      try {
        return await probeLink({
          local: { network: ip, runner, link: local.linkName },
          peer: { network: peerIp, runner, link: peer.linkName },
          backend: local,
          attempts,
        });
      } finally {
        await peer.teardown(p);
        await local.teardown(l);
      }
    };
    const same = await run(200, 3);
    const otherId = await run(300, 1);
    const addressesLeft = [...(await ip.listAddresses()), ...(await peerIp.listAddresses())]
      .filter((a) => a.family === 'inet' && a.local.startsWith('198.18.'))
      .map((a) => a.cidr);
    return { same, otherId, addressesLeft, linksLeft: [...(await linkNames()), ...(await linkNames(peerIp))] };
  } finally {
    await runner.run('ip', ['netns', 'del', peerNs], { reject: false });
  }
}

/** With the 8021q module unloaded (and none to autoload), ensure says so and leaves nothing. */
async function without8021q() {
  const unload = await runner.run('/bin/busybox', ['rmmod', '8021q'], { reject: false });
  const before = await linkNames();
  const error = await caught(() => new VlanBackend({ uplink: 'eth0', id: 200 }, { network: ip, runner }).ensure());
  return { unloaded: unload.exitCode === 0, error, unchanged: JSON.stringify(await linkNames()) === JSON.stringify(before) };
}

/** Everything the guest reports, by scenario. */
export interface GuestReport {
  /** Milliseconds from Node's start to the first scenario (module loading in the VM). */
  startedMs: number;
  kernel: string;
  uplinks: { eth0: UplinkState; links: SeenLink[] };
  defaultLink: Outcome<Awaited<ReturnType<typeof defaultLink>>>;
  namedLink: Outcome<Awaited<ReturnType<typeof namedLink>>>;
  twoNics: Outcome<Awaited<ReturnType<typeof twoNics>>>;
  reuseDown: Outcome<Awaited<ReturnType<typeof reuseDown>>>;
  conflict: Outcome<Awaited<ReturnType<typeof conflict>>>;
  errors: Outcome<Awaited<ReturnType<typeof errors>>>;
  probe: Outcome<Awaited<ReturnType<typeof probe>>>;
  without8021q: Outcome<Awaited<ReturnType<typeof without8021q>>>;
}

// A real node's uplink is up: bring both NICs up as a boot would.
await ip.setUp('eth0');
await ip.setUp('eth1');
const report: GuestReport = {
  startedMs: Math.round(performance.now()),
  kernel: (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim(),
  uplinks: { eth0: await uplinkState(ip, 'eth0'), links: await links() },
  defaultLink: await outcome(defaultLink),
  namedLink: await outcome(namedLink),
  twoNics: await outcome(twoNics),
  reuseDown: await outcome(reuseDown),
  conflict: await outcome(conflict),
  errors: await outcome(errors),
  probe: await outcome(probe),
  without8021q: await outcome(without8021q),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
