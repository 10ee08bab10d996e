import type { Link, Network } from '@cluster-lab/core';
import { type BackendDescription, type BackendKind, type BackendProblem, problem } from './network-backend.js';

/** Problems of the uplink a vlan/vxlan link rides on: missing or down. */
export async function inspectUplink(network: Network, uplink: string): Promise<{ link: Link | undefined; problems: BackendProblem[] }> {
  const link = await network.getLink(uplink);
  if (!link) {
    return {
      link,
      problems: [
        problem(
          'UPLINK_NOT_FOUND',
          `uplink "${uplink}" does not exist`,
          'set `interface` to the NIC connected to the switch (see `ip link`)',
        ),
      ],
    };
  }
  if (!link.up) {
    return { link, problems: [problem('UPLINK_DOWN', `uplink "${uplink}" is down`, `bring it up: \`ip link set dev ${uplink} up\``)] };
  }
  return { link, problems: [] };
}

/** What {@link describeLink} needs to know about the expected link. */
export interface ExpectedLink {
  kind: BackendKind;
  name: string;
  uplink: string;
  expectedMtu: number | undefined;
  /** Hint for a missing link (differs per backend). */
  missingHint: string;
}

/**
 * The backend-independent part of a description: existence, up/carrier, MTU and addresses of
 * the cluster link. Kind-specific checks are added by each backend.
 */
export async function describeLink(
  network: Network,
  expected: ExpectedLink,
  link: Link | undefined,
  uplinkProblems: BackendProblem[],
): Promise<BackendDescription> {
  const problems = [...uplinkProblems];
  const d: BackendDescription = {
    kind: expected.kind,
    name: expected.name,
    uplink: expected.uplink,
    exists: Boolean(link),
    up: Boolean(link?.up),
    kindMatches: false,
    addresses: [],
    problems,
    ok: false,
  };
  if (expected.expectedMtu !== undefined) d.expectedMtu = expected.expectedMtu;
  if (!link) {
    problems.push(problem('LINK_MISSING', `cluster link "${expected.name}" does not exist`, expected.missingHint));
    return d;
  }
  if (link.kind) d.actualKind = link.kind;
  d.mtu = link.mtu;
  d.mac = link.mac;
  d.addresses = (await network.listAddresses(link.name)).filter((a) => a.family === 'inet').map((a) => a.cidr);
  if (!link.up) {
    problems.push(
      problem(
        'LINK_DOWN',
        `cluster link "${link.name}" is down`,
        `bring it up: \`ip link set dev ${link.name} up\` or run \`cluster-lab start\``,
      ),
    );
  } else if (link.operState === 'DOWN' || link.operState === 'LOWERLAYERDOWN') {
    problems.push(
      problem(
        'NO_CARRIER',
        `cluster link "${link.name}" is up but has no carrier (state ${link.operState})`,
        'check the cable and the switch port',
      ),
    );
  }
  if (expected.expectedMtu !== undefined && link.mtu !== expected.expectedMtu) {
    problems.push(
      problem(
        'MTU_MISMATCH',
        `cluster link "${link.name}" has MTU ${link.mtu}, the configuration asks for ${expected.expectedMtu}`,
        `set it with \`ip link set dev ${link.name} mtu ${expected.expectedMtu}\` or change network.mtu`,
      ),
    );
  }
  return d;
}

/** Sets `ok` from the problems list; call last. */
export function finish(d: BackendDescription): BackendDescription {
  d.ok = d.problems.length === 0;
  return d;
}
