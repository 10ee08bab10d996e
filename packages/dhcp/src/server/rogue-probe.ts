import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, type CommandRunner, findExecutable, isIpv4 } from '@cluster-lab/core';
import { hookEventsFile, readHookEvents, writeHookScript } from '../client/hook-script.js';
import { programNotFound } from '../client/program-not-found.js';
import { assertServableLinks } from './dnsmasq-config.js';

/**
 * How long the leader listens for a foreign DHCP server before serving. Every leader boot pays
 * this, so it is short: a server on the same link answers a DISCOVER within milliseconds, and two
 * DISCOVERs one second apart survive one lost packet. 2 s instead of udhcpc's default 9 s+.
 */
export const DHCP_PROBE_TIMEOUT_MS = 2000;

/** Options of {@link probeForDhcpServer}. */
export interface ProbeOptions {
  /** Runs udhcpc (in the lab: the node's runner). */
  runner: CommandRunner;
  /** The cluster link to probe. */
  link: string;
  /** Default {@link DHCP_PROBE_TIMEOUT_MS}; rounded up to whole seconds (udhcpc's resolution). */
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
  const seconds = Math.max(1, Math.ceil((options.timeoutMs ?? DHCP_PROBE_TIMEOUT_MS) / 1000));
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
        [...prefix, '-f', '-q', '-n', '-R', '-i', options.link, '-s', hook, '-t', String(seconds), '-T', '1'],
        {
          timeoutMs: seconds * 1000 + 3000,
          reject: false,
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
    } catch (error) {
      if (error instanceof CommandError && error.notFound) throw programNotFound('udhcpc', file);
      if (!(error instanceof CommandError) || error.isCanceled) throw error;
      // Timed out: fall through and look at what the hook saw.
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
