import type { CommandResult, CommandRunner, RunOptions, SpawnedProcess, SpawnOptions } from './command-runner.js';

/**
 * Wraps a runner so every command runs behind a fixed prefix program, e.g. inside a network
 * namespace with `nsenter --net=/run/netns/n1 --`.
 *
 * @example
 * ```ts
 * const inNode = new PrefixedRunner(runner, ['nsenter', '--net=/run/netns/n1', '--']);
 * await inNode.run('ip', ['-j', 'addr']); // runs: nsenter --net=/run/netns/n1 -- ip -j addr
 * ```
 */
export class PrefixedRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    private readonly prefix: readonly [string, ...string[]],
  ) {}

  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const [head, ...rest] = this.prefix;
    return this.inner.run(head, [...rest, file, ...args], options);
  }

  spawn(file: string, args: readonly string[], options?: SpawnOptions): Promise<SpawnedProcess> {
    const [head, ...rest] = this.prefix;
    return this.inner.spawn(head, [...rest, file, ...args], options);
  }
}
