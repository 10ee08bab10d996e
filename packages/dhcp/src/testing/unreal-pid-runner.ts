import { FakeRunner, type SpawnedProcess, type SpawnOptions } from '@cluster-lab/core';

/**
 * Above Linux's largest possible pid (`pid_max` ≤ 2^22), so no real process can ever have it.
 * Core's FakeRunner hands out pids from 40 000, which may belong to a real process on the test
 * machine — and our daemon helpers signal the pid in a pid file.
 */
const FIRST_UNREAL_PID = 2 ** 22 + 1000;

/** A {@link FakeRunner} whose spawned "processes" have pids no real process can have. */
export class UnrealPidRunner extends FakeRunner {
  private next = FIRST_UNREAL_PID;

  override async spawn(file: string, args: readonly string[], options?: SpawnOptions): Promise<SpawnedProcess> {
    const child = await super.spawn(file, args, options);
    const pid = this.next++;
    return { pid, command: child.command, exited: child.exited, kill: (signal) => child.kill(signal) };
  }
}
