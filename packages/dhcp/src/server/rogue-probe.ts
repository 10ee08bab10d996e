import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, type CommandRunner, findExecutable, isIpv4 } from '@cluster-lab/core';
import { hookEventsFile, readHookEvents, writeHookScript } from '../hook-script.js';
import { programNotFound } from '../program-not-found.js';
import { assertServableLinks } from '../servable-links.js';

/**
 * How long the leader listens for a foreign DHCP server before serving. Every leader boot pays
 * this (it runs beside the election, whose ~1.7 s it must not outlast, or the followers' first
 * DISCOVER arrives before dnsmasq), so it is short: udhcpc sends a DISCOVER at once and another
 * after 1 s, and is stopped 0.5 s later — a server that checks the address with a ping before
 * offering (ISC dhcpd, dnsmasq: ~1 s) still answers the first one in time, and two DISCOVERs
 * survive one lost packet.
 */
export const DHCP_PROBE_TIMEOUT_MS = 1500;

/** Options of {@link probeForDhcpServer}. */
export interface ProbeOptions {
  /** Runs udhcpc (in the lab: the node's runner). */
  runner: CommandRunner;
  /** The cluster link to probe. */
  link: string;
  /** Default {@link DHCP_PROBE_TIMEOUT_MS}. udhcpc sends one DISCOVER per started second of it and is stopped when it ends. */
  timeoutMs?: number;
  /** Directory for the hook and its output (default: a temporary directory, removed afterwards). */
  workDir?: string;
  /** udhcpc (or busybox) to run; default: found in PATH. */
  executable?: string;
  signal?: AbortSignal;
}

/** A DHCP server that answered the probe. */
export interface ProbeAnswer {
  /** The answering server's identifier (option 54): its address on the link. */
  serverId: string;
  /** The address it offered us. */
  offeredIp?: string;
}

/**
 * Asks the link whether a DHCP server already answers, by running busybox udhcpc in probe mode:
 * `udhcpc -f -q -n -R -i <link> -s <hook> -t <n> -T 1`. Our static hook only reports (nothing is
 * applied to the link) and `-R` releases whatever lease the foreign server granted. Returns the
 * answering server, or undefined when nobody answered within the timeout.
 *
 * @example
 * ```ts
 * const answer = await probeForDhcpServer({ runner: node.runner, link: 'eth1' });
 * if (answer) throw new RogueDhcpServerError('eth1', answer.serverId);
 * ```
 */
export async function probeForDhcpServer(options: ProbeOptions): Promise<ProbeAnswer | undefined> {
  assertServableLinks(options.link);
  let file = options.executable;
  const prefix: string[] = [];
  if (!file) {
    file = await findExecutable('udhcpc');
    if (!file) {
      file = await findExecutable('busybox');
      if (!file) throw programNotFound('udhcpc');
      prefix.push('udhcpc');
    }
  }
  const timeoutMs = options.timeoutMs ?? DHCP_PROBE_TIMEOUT_MS;
  const discovers = Math.max(1, Math.ceil(timeoutMs / 1000));
  const ownDir = options.workDir === undefined;
  const dir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'cluster-lab-dhcp-probe-')));
  try {
    const hook = join(dir, 'probe', 'hook.sh');
    const events = hookEventsFile(hook);
    await writeHookScript(hook);
    await rm(events, { force: true });
    try {
      await options.runner.run(
        file,
        [...prefix, '-f', '-q', '-n', '-R', '-i', options.link, '-s', hook, '-t', String(discovers), '-T', '1'],
        {
          timeoutMs,
          reject: false,
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
    } catch (error) {
      if (error instanceof CommandError && error.notFound) throw programNotFound('udhcpc', file);
      if (!(error instanceof CommandError) || error.isCanceled) throw error;
      // Stopped at the end of the window (the usual case when nobody answers): look at what the hook saw.
    }
    for (const event of (await readHookEvents(events)).reverse()) {
      const serverId = event.env.serverid;
      if (serverId && isIpv4(serverId)) {
        const answer: ProbeAnswer = { serverId };
        if (event.env.ip && isIpv4(event.env.ip)) answer.offeredIp = event.env.ip;
        return answer;
      }
    }
    return undefined;
  } finally {
    if (ownDir) await rm(dir, { recursive: true, force: true });
  }
}
