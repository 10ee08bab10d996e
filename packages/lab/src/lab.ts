import type { CommandRunner } from '@cluster-lab/core';
import { destroyLabState } from './destroy-lab.js';
import { LabNode } from './lab-node.js';
import { labSecretFile } from './lab-paths.js';
import type { LabLan, LabState } from './lab-state.js';

/** The home-router stand-in: a namespace on the LAN switch (hostname `router`) holding the LAN's `.1`. */
export class LabRouter extends LabNode {
  /** The router's LAN address (`.1`). */
  get address(): string {
    return this.lanAddress ?? '';
  }
}

/**
 * Builds the handle of a lab from its state (the topology recorded by {@link createLab}); used
 * by `createLab` itself and by {@link openLab}.
 */
export function labFromState(runner: CommandRunner, state: LabState): Lab {
  const topology = state.topology;
  if (!topology) throw new Error(`lab "${state.id}" has no recorded topology (it was not fully created)`);
  return new Lab(
    runner,
    state,
    topology.nodes.map((n) => new LabNode(runner, n)),
    topology.switchNetns,
    topology.lan,
    topology.router ? new LabRouter(runner, topology.router) : undefined,
  );
}

/**
 * A running lab, returned by {@link createLab}. Remove it with {@link Lab.destroy} (safe twice)
 * or let `await using` do it.
 */
export class Lab implements AsyncDisposable {
  private destroying: Promise<void> | undefined;

  constructor(
    private readonly runner: CommandRunner,
    /** The state file content: everything this lab created. */
    readonly state: LabState,
    /** `node1` … `nodeN`, in order. */
    readonly nodes: readonly LabNode[],
    /** Namespace holding the switch bridges (`br0` LAN, `br1` cluster switch). */
    readonly switchNetns: string,
    /** The home LAN, when created with `lan: true` (the default). */
    readonly lan: LabLan | undefined,
    /** The home-router stand-in, when created with `router: true`. */
    readonly router: LabRouter | undefined,
  ) {}

  /** Unique id: the lab name plus a random suffix, e.g. `dhcp-k3x9a`. */
  get id(): string {
    return this.state.id;
  }

  /** The name passed to {@link createLab}. */
  get name(): string {
    return this.state.name;
  }

  /** The lab's own directory (state file, node dirs); removed by {@link destroy}. Put your files here. */
  get stateDir(): string {
    return this.state.stateDir;
  }

  /**
   * The lab's cluster secret (`cluster-lab secret generate` format, mode 0600): one per lab, as
   * one per real cluster. Point every node's `secretFile` at it; it goes with {@link destroy}.
   */
  get secretFile(): string {
    return labSecretFile(this.state.stateDir);
  }

  /** The node called `name` (`node1`…); throws when there is none. */
  node(name: string): LabNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new RangeError(`lab "${this.id}" has no node "${name}" (nodes: ${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** Removes exactly what the lab created. Safe to call twice (the second call waits for the first). */
  destroy(): Promise<void> {
    this.destroying ??= destroyLabState(this.runner, this.state);
    return this.destroying;
  }

  /** Same as {@link destroy}; lets scripts write `await using lab = await createLab(…)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}
