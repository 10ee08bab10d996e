import { readdir, readFile } from 'node:fs/promises';
import type { CommandRunner } from '@cluster-lab/core';
import { CGROUP_ROOT } from './dockerd.js';

/**
 * What a lab could leave behind on the host, restricted to names containing a marker (the lab
 * name) so that labs of other tests running at the same time do not show up. iptables and the
 * FORWARD policy are host-wide: nothing of a lab may change them.
 */
export interface HostSnapshot {
  /** Network namespaces whose name contains the marker. */
  netns: string[];
  /** Host-namespace links with the marker or a name the lab uses inside its namespaces (a leak). */
  hostLinks: string[];
  /** Mount points containing the marker. */
  mounts: string[];
  /** Command lines of processes mentioning the marker (dockerd, containerd, shims, …). */
  processes: string[];
  /** cgroup directories (any hierarchy, top level) containing the marker. */
  cgroups: string[];
  /** `iptables-save` without comments and packet counters. */
  iptables: string;
  /** `ip6tables-save`, normalised the same way. */
  ip6tables: string;
  /** Policy of the filter table's FORWARD chain (dockerd sets it to DROP when it manages iptables). */
  forwardPolicy: string;
}

// Switch-side veth names and bridge names the lab uses inside its own namespaces; seeing one in
// the host namespace would mean a link escaped.
const LAB_LINK_NAMES = /^(?:[ec]\d+|r0|br[01])$/;

/**
 * Records host state relevant to lab cleanup, for before/after comparisons in tests.
 *
 * @example
 * ```ts
 * const before = await snapshotHost(runner, 'snapk3x9');
 * const lab = await createLab({ name: 'snapk3x9', nodes: 2, docker: true });
 * await lab.destroy();
 * expect(await snapshotHost(runner, 'snapk3x9')).toEqual(before);
 * ```
 */
export async function snapshotHost(runner: CommandRunner, marker: string): Promise<HostSnapshot> {
  const [netnsOut, linksOut, mountinfo, processes, cgroups, iptables, ip6tables] = await Promise.all([
    runner.run('ip', ['netns', 'list']),
    runner.run('ip', ['-j', 'link', 'show']),
    readFile('/proc/self/mountinfo', 'utf8'),
    processesMentioning(marker),
    cgroupsMentioning(marker),
    runner.run('iptables-save', []),
    runner.run('ip6tables-save', [], { reject: false }),
  ]);
  const forward = /^:FORWARD (\S+)/m.exec(iptables.stdout)?.[1] ?? 'unknown';
  return {
    netns: netnsOut.stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.includes(marker))
      .sort(),
    hostLinks: (JSON.parse(linksOut.stdout || '[]') as { ifname: string }[])
      .map((l) => l.ifname)
      .filter((n) => n.includes(marker) || LAB_LINK_NAMES.test(n))
      .sort(),
    mounts: mountinfo
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.includes(marker))
      .sort(),
    processes,
    cgroups,
    iptables: normaliseIptables(iptables.stdout),
    ip6tables: normaliseIptables(ip6tables.stdout),
    forwardPolicy: forward,
  };
}

function normaliseIptables(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
    .join('\n');
}

async function processesMentioning(marker: string): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  const lines = await Promise.all(
    pids.map(async (pid) => {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      return cmdline.includes(marker) ? cmdline.replaceAll('\0', ' ').trim() : undefined;
    }),
  );
  return lines.filter((l): l is string => l !== undefined).sort();
}

async function cgroupsMentioning(marker: string): Promise<string[]> {
  const hierarchies = await readdir(CGROUP_ROOT).catch(() => [] as string[]);
  const found = await Promise.all(
    hierarchies.map(async (h) =>
      (await readdir(`${CGROUP_ROOT}/${h}`).catch(() => [] as string[])).filter((d) => d.includes(marker)).map((d) => `${h}/${d}`),
    ),
  );
  return found.flat().sort();
}
