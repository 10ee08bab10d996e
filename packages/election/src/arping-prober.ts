import { assertInterfaceName, assertIpv4, ClusterLabError, type CommandResult, type CommandRunner } from '@cluster-lab/core';
import type { AddressOwner, AddressProber, ProbeOptions } from './address-prober.js';

/**
 * Number of ARP probes per {@link ArpingProber.probe}. RFC 5227 §2.1.1 sends PROBE_NUM = 3
 * probes; we keep three so one lost frame cannot hide an owner.
 */
export const ARP_PROBE_COUNT = 3;
/**
 * Gap between probes. Replaces RFC 5227's PROBE_MIN–PROBE_MAX (1–2 s, randomised). The RFC's
 * spacing is sized for shared, lossy, bridged home networks with slow hosts; on a dedicated cluster
 * link an ARP reply arrives in well under a millisecond (a busy Raspberry Pi: a few ms), so 100 ms
 * still leaves two orders of magnitude of head-room. Simultaneous claimers are not separated by
 * this timing at all but by the candidacy tie-break, so shortening it cannot create a split brain.
 */
export const ARP_PROBE_INTERVAL_MS = 100;
/**
 * How long one probe run may take in total, last reply included. Replaces RFC 5227's
 * ANNOUNCE_WAIT (2 s after the last probe) for the same reason as {@link ARP_PROBE_INTERVAL_MS}.
 */
export const ARP_PROBE_DEADLINE_MS = 350;

/** Which `arping` is installed: Debian's `arping` package (Thomas Habets) or iputils-arping. */
export type ArpingFlavour = 'habets' | 'iputils';

/** Options for {@link ArpingProber}. */
export interface ArpingProberOptions {
  /** Runs `arping` (inside the node's network namespace when needed). */
  runner: CommandRunner;
  /** Skip detection (tests, or when the caller already knows). */
  flavour?: ArpingFlavour;
  /** Program to run. Default `arping`. */
  command?: string;
}

/**
 * Tells the two `arping` programs apart from `arping -V` output. They disagree on flags
 * (`-i` vs `-I`) and on exit codes — Habets' `-D` exits 0 when the address IS in use, iputils'
 * when it is free — so the prober never relies on exit codes, it parses replies.
 */
export function detectArpingFlavour(output: string): ArpingFlavour | undefined {
  if (/iputils/i.test(output)) return 'iputils';
  if (/ARPing \d|Habets/.test(output)) return 'habets';
  return undefined;
}

const HABETS_REPLY = /bytes from ([0-9a-f]{2}(?::[0-9a-f]{2}){5}) \((\d{1,3}(?:\.\d{1,3}){3})\)/gi;
const IPUTILS_REPLY = /reply from (\d{1,3}(?:\.\d{1,3}){3}) \[([0-9a-f]{2}(?::[0-9a-f]{2}){5})\]/gi;

/**
 * Extracts the distinct MACs that answered for `address` from `arping` output of either flavour.
 *
 * @example
 * ```ts
 * parseArpingReplies('42 bytes from 56:54:3b:33:68:a7 (192.168.200.1): index=0 time=9.073 usec', '192.168.200.1');
 * // → [{ mac: '56:54:3b:33:68:a7' }]
 * ```
 */
export function parseArpingReplies(output: string, address: string): AddressOwner[] {
  const macs = new Set<string>();
  for (const m of output.matchAll(HABETS_REPLY)) if (m[2] === address) macs.add(m[1]!.toLowerCase());
  for (const m of output.matchAll(IPUTILS_REPLY)) if (m[1] === address) macs.add(m[2]!.toLowerCase());
  return [...macs].map((mac) => ({ mac }));
}

const seconds = (ms: number) => String(ms / 1000);

/**
 * The real {@link AddressProber}: runs `arping` through a {@link CommandRunner}, detecting the
 * flavour once. Probes are RFC 5227 ARP probes (sender IP 0.0.0.0) with shortened timing
 * ({@link ARP_PROBE_COUNT}, {@link ARP_PROBE_INTERVAL_MS}, {@link ARP_PROBE_DEADLINE_MS}).
 *
 * Equivalent to (Habets): `arping -0 -c 3 -W 0.1 -w 0.35 -i <link> <address>` and, to announce,
 * `arping -U -c 1 -w 0.1 -i <link> -S <address> <address>`.
 *
 * @example
 * ```ts
 * const prober = new ArpingProber({ runner: new ExecaRunner() });
 * const owners = await prober.probe('192.168.200.1', 'eth0.200'); // [] when free
 * ```
 */
export class ArpingProber implements AddressProber {
  private readonly runner: CommandRunner;
  private readonly command: string;
  private flavour: Promise<ArpingFlavour> | undefined;

  constructor(options: ArpingProberOptions) {
    this.runner = options.runner;
    this.command = options.command ?? 'arping';
    if (options.flavour) this.flavour = Promise.resolve(options.flavour);
  }

  /** The installed flavour (`arping -V`, run once). */
  detectFlavour(): Promise<ArpingFlavour> {
    this.flavour ??= this.runDetect();
    return this.flavour;
  }

  private async runDetect(): Promise<ArpingFlavour> {
    const result = await this.exec(['-V']);
    const flavour = detectArpingFlavour(`${result.stdout}\n${result.stderr}`);
    if (!flavour) {
      this.flavour = undefined;
      throw new ClusterLabError('ARPING_UNKNOWN', `cannot tell which arping "${this.command}" is from its -V output`, {
        hint: "install Debian's `arping` package or `iputils-arping`",
        errorClass: 'dependency',
      });
    }
    return flavour;
  }

  async probe(address: string, link: string, options: ProbeOptions = {}): Promise<AddressOwner[]> {
    assertIpv4(address);
    assertInterfaceName(link);
    const flavour = await this.detectFlavour();
    const args =
      flavour === 'habets'
        ? [
            '-0',
            '-c',
            String(ARP_PROBE_COUNT),
            '-W',
            seconds(ARP_PROBE_INTERVAL_MS),
            '-w',
            seconds(ARP_PROBE_DEADLINE_MS),
            // -C 1: exit at the first reply instead of waiting out the deadline.
            ...(options.stopAtFirst ? ['-C', '1'] : []),
            '-i',
            link,
            address,
          ]
        : // iputils -D: sender IP 0.0.0.0; -w takes whole seconds on older builds, so round up; -f: quit on first reply.
          [
            '-D',
            ...(options.stopAtFirst ? ['-f'] : []),
            '-c',
            String(ARP_PROBE_COUNT),
            '-w',
            String(Math.ceil(ARP_PROBE_DEADLINE_MS / 1000)),
            '-I',
            link,
            address,
          ];
    const result = await this.exec(args);
    this.assertRan(result, flavour, link);
    return parseArpingReplies(result.stdout, address);
  }

  async announce(address: string, link: string): Promise<void> {
    assertIpv4(address);
    assertInterfaceName(link);
    const flavour = await this.detectFlavour();
    const args =
      flavour === 'habets'
        ? ['-U', '-c', '1', '-w', '0.1', '-i', link, '-S', address, address]
        : ['-U', '-c', '1', '-I', link, '-s', address, address];
    // Nobody replies to a gratuitous ARP, so a "no reply" exit status is the expected outcome.
    this.assertRan(await this.exec(args), flavour, link);
  }

  private async exec(args: string[]): Promise<CommandResult> {
    try {
      return await this.runner.run(this.command, args, { reject: false, timeoutMs: 5_000 });
    } catch (error) {
      throw new ClusterLabError('ARPING_FAILED', `could not run ${this.command}: ${(error as Error).message}`, {
        hint: 'install it: apt-get install arping',
        errorClass: 'dependency',
        cause: error,
      });
    }
  }

  /**
   * Exit codes mean different things per flavour and "no reply" is a normal outcome, so success is
   * judged by the summary line each flavour prints after sending: without it nothing was sent
   * (bad interface, no permission) and an empty reply list would wrongly read as "address free".
   */
  private assertRan(result: CommandResult, flavour: ArpingFlavour, link: string): void {
    const sent = flavour === 'habets' ? /packets transmitted/ : /Sent \d+ probe/;
    if (sent.test(result.stdout)) return;
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-2).join(' ');
    throw new ClusterLabError('ARPING_FAILED', `\`${result.command}\` sent no ARP on "${link}" (exit ${result.exitCode}): ${detail}`, {
      hint: `check that "${link}" exists and is up and that cluster-lab runs as root (raw sockets)`,
      errorClass: 'runtime',
    });
  }
}
