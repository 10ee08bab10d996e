import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@cluster-lab/core';
import type { LabNodeInit } from './lab-node.js';

/** The lab's "home LAN": the subnet on the switch that every node's `eth0` sits on. */
export interface LabLan {
  /** e.g. `10.142.7.0/24`, different per lab. */
  subnet: string;
  prefixLength: number;
  /** The `.1` address, held by `lab.router` when the lab has one. */
  routerAddress: string;
}

/** The process that owns a lab: its pid plus the kernel start time, so a reused pid is not mistaken for the owner. */
export interface LabOwner {
  pid: number;
  /** Field 22 of `/proc/<pid>/stat` (clock ticks since boot). */
  startTime: string;
}

/** One dockerd a lab started; enough to stop it after a crash. */
export interface LabDockerdState {
  node: string;
  /** Pid file written by the lab when it spawned dockerd. */
  pidFile: string;
  socket: string;
  dataRoot: string;
  execRoot: string;
  /** Absolute cgroup parent given to dockerd; removed from every hierarchy on destroy. */
  cgroupParent: string;
}

/**
 * The lab state file (`<stateDir>/state.json`). It is written before anything is created and
 * lists everything the lab will create, so `destroy()` and `cleanupStale()` remove exactly that —
 * deleting what is already gone succeeds.
 */
export interface LabState {
  version: 1;
  id: string;
  name: string;
  /** The creating process; null for a persistent lab, which only an explicit destroy removes. */
  owner: LabOwner | null;
  createdAt: string;
  /** The options the lab was created with (for status displays). */
  options?: { docker: boolean; lan: boolean; router: boolean; clusterNic: boolean; image: boolean };
  /** The built topology, recorded once the namespaces exist; lets {@link openLab} rebuild the handle. */
  topology?: LabTopology;
  stateDir: string;
  /** Every network namespace of the lab (switch, router, nodes). */
  netns: string[];
  /** Persistent UTS namespace files (bind mounts). */
  utsFiles: string[];
  dockerds: LabDockerdState[];
}

/** Nodes, router and LAN of a lab as recorded in its state file. */
export interface LabTopology {
  switchNetns: string;
  nodes: LabNodeInit[];
  router?: LabNodeInit;
  lan?: LabLan;
}

/** File name of the state file inside a lab's state directory. */
export const LAB_STATE_FILE = 'state.json';

/** Writes the state file of a lab atomically. */
export async function writeLabState(state: LabState): Promise<void> {
  await writeFileAtomic(`${state.stateDir}/${LAB_STATE_FILE}`, `${JSON.stringify(state, null, 2)}\n`, 0o644);
}

/** Reads a lab's state file; undefined when it does not exist or is not a lab state. */
export async function readLabState(stateDir: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(`${stateDir}/${LAB_STATE_FILE}`, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const state = JSON.parse(text) as LabState;
    return state.version === 1 && typeof state.id === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Kernel start time of `pid`, or undefined when the process does not exist. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The owner record for the current process. */
export async function currentOwner(): Promise<LabOwner> {
  return { pid: process.pid, startTime: (await processStartTime(process.pid)) ?? '' };
}

/** True while the process recorded as owner still runs (same pid and same start time); always true for a persistent lab (no owner). */
export async function isOwnerAlive(owner: LabOwner | null): Promise<boolean> {
  if (owner === null) return true;
  const startTime = await processStartTime(owner.pid);
  if (startTime === undefined) return false;
  const stat = await readFile(`/proc/${owner.pid}/stat`, 'utf8').catch(() => '');
  if (/^\d+ \(.*\) Z/.test(stat)) return false;
  return owner.startTime === '' || startTime === owner.startTime;
}
