import {
  CommandError,
  type CommandResult,
  type CommandRunner,
  formatCommand,
  type RunOptions,
  type SpawnedProcess,
  type SpawnOptions,
} from './command-runner.js';

/** A scripted answer for {@link FakeRunner}. Non-zero `exitCode` makes `run` throw {@link CommandError}. */
export interface FakeReply {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  /** Simulate a missing program. */
  notFound?: boolean;
  /** Simulate a command killed by its timeout (always throws, like the real runner). */
  timedOut?: boolean;
  /**
   * Take this long to answer. A call whose `timeoutMs` is shorter times out, and one whose
   * `signal` aborts meanwhile is canceled — as with the real runner.
   */
  delayMs?: number;
}

/** How a process started by {@link FakeRunner.spawn} behaves. */
export interface FakeSpawnBehaviour {
  /** Exit on its own this many milliseconds after start (default: run until killed). */
  exitAfterMs?: number;
  /** Exit code when it exits on its own. Default 0. */
  exitCode?: number;
}

/** One recorded call. */
export interface FakeCall {
  kind: 'run' | 'spawn';
  file: string;
  args: string[];
  /** The formatted command line. */
  command: string;
  options: RunOptions | SpawnOptions;
}

/** How a script entry picks calls: exact args, an args prefix, or any predicate. */
export type ArgsMatcher = readonly string[] | { prefix: readonly string[] } | ((args: readonly string[]) => boolean);

/** A scripted reply, or a function computing one from the call (it may be async). */
export type FakeReplySource = FakeReply | ((call: FakeCall) => FakeReply | Promise<FakeReply>);

interface Script {
  kind: 'run' | 'spawn';
  file: string;
  matcher: ArgsMatcher;
  reply: FakeReplySource;
  spawn?: FakeSpawnBehaviour;
  times: number;
}

/**
 * A {@link CommandRunner} for unit tests: records every call and answers from a script.
 * A call that matches no script entry throws, naming the command and what was scripted, so a
 * test can never pass by accident on a command it did not expect.
 *
 * @example
 * ```ts
 * const runner = new FakeRunner()
 *   .on('ip', ['-j', '-d', 'link', 'show'], { stdout: '[]' })
 *   .on('ip', { prefix: ['link', 'add'] }, {});
 * await doSomething(runner);
 * expect(runner.commands()).toEqual(['ip -j -d link show', 'ip link add eth0.200 …']);
 * ```
 */
export class FakeRunner implements CommandRunner {
  readonly calls: FakeCall[] = [];
  private readonly scripts: Script[] = [];
  private nextPid = 40_000;

  /** Scripts an answer for `run(file, args)` calls matching `matcher` (latest entry wins). */
  on(file: string, matcher: ArgsMatcher, reply: FakeReplySource, times = Number.POSITIVE_INFINITY): this {
    this.scripts.push({ kind: 'run', file, matcher, reply, times });
    return this;
  }

  /** Like {@link on}, but answers only the next `times` matching calls (default once). */
  once(file: string, matcher: ArgsMatcher, reply: FakeReplySource, times = 1): this {
    return this.on(file, matcher, reply, times);
  }

  /**
   * Allows `spawn(file, args)` calls matching `matcher`; they get a fake pid and run until
   * killed, unless `behaviour.exitAfterMs` makes them exit on their own.
   */
  onSpawn(file: string, matcher: ArgsMatcher, behaviour: FakeSpawnBehaviour = {}): this {
    this.scripts.push({ kind: 'spawn', file, matcher, reply: {}, spawn: behaviour, times: Number.POSITIVE_INFINITY });
    return this;
  }

  /** The formatted command lines of all calls so far, in order. */
  commands(kind?: 'run' | 'spawn'): string[] {
    return this.calls.filter((c) => kind === undefined || c.kind === kind).map((c) => c.command);
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const call = this.record('run', file, args, options);
    const script = this.find('run', file, args);
    const reply = typeof script.reply === 'function' ? await script.reply(call) : script.reply;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const waited = await wait(reply.delayMs ?? 0, timeoutMs, options.signal);
    const failure = (why: 'timedOut' | 'isCanceled', durationMs: number) =>
      new CommandError({
        command: call.command,
        file,
        exitCode: undefined,
        stdout: '',
        stderr: '',
        timedOut: why === 'timedOut',
        isCanceled: why === 'isCanceled',
        notFound: false,
        durationMs,
        ...(why === 'timedOut' ? { signal: 'SIGTERM' } : {}),
      });
    if (waited !== 'done') throw failure(waited, waited === 'timedOut' ? timeoutMs : 0);
    const result: CommandResult = {
      command: call.command,
      exitCode: reply.exitCode ?? 0,
      stdout: reply.stdout ?? '',
      stderr: reply.stderr ?? '',
      durationMs: reply.delayMs ?? 0,
    };
    if (reply.timedOut) throw failure('timedOut', timeoutMs);
    if (reply.notFound || (result.exitCode !== 0 && options.reject !== false)) {
      throw new CommandError({
        command: call.command,
        file,
        exitCode: reply.notFound ? undefined : result.exitCode,
        stdout: result.stdout,
        stderr: reply.notFound ? `${file}: command not found` : result.stderr,
        timedOut: false,
        isCanceled: false,
        notFound: Boolean(reply.notFound),
        durationMs: result.durationMs,
      });
    }
    return result;
  }

  async spawn(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<SpawnedProcess> {
    const call = this.record('spawn', file, args, options);
    const script = this.find('spawn', file, args);
    let resolveExit: (v: { exitCode: number | null; signal: string | null }) => void = () => {};
    const exited = new Promise<{ exitCode: number | null; signal: string | null }>((r) => {
      resolveExit = r;
    });
    const { exitAfterMs, exitCode = 0 } = script.spawn ?? {};
    if (exitAfterMs !== undefined) setTimeout(() => resolveExit({ exitCode, signal: null }), exitAfterMs);
    return {
      pid: this.nextPid++,
      command: call.command,
      exited,
      kill: (signal = 'SIGTERM') => resolveExit({ exitCode: null, signal }),
    };
  }

  private record(kind: FakeCall['kind'], file: string, args: readonly string[], options: FakeCall['options']): FakeCall {
    const call: FakeCall = { kind, file, args: [...args], command: formatCommand(file, args), options };
    this.calls.push(call);
    return call;
  }

  private find(kind: Script['kind'], file: string, args: readonly string[]): Script {
    for (let i = this.scripts.length - 1; i >= 0; i--) {
      const s = this.scripts[i] as Script;
      if (s.kind === kind && s.file === file && s.times > 0 && matches(s.matcher, args)) {
        s.times -= 1;
        return s;
      }
    }
    const scripted = this.scripts.filter((s) => s.kind === kind).map((s) => `  ${s.file} ${describeMatcher(s.matcher)}`);
    throw new Error(
      `FakeRunner: unexpected ${kind} \`${formatCommand(file, args)}\`\nscripted ${kind} calls:\n${scripted.join('\n') || '  (none)'}`,
    );
  }
}

function matches(matcher: ArgsMatcher, args: readonly string[]): boolean {
  if (typeof matcher === 'function') return matcher(args);
  if ('prefix' in matcher) return matcher.prefix.every((a, i) => args[i] === a);
  return matcher.length === args.length && matcher.every((a, i) => args[i] === a);
}

function describeMatcher(matcher: ArgsMatcher): string {
  if (typeof matcher === 'function') return '(predicate)';
  if ('prefix' in matcher) return `${matcher.prefix.join(' ')} …`;
  return matcher.join(' ');
}

/** Waits `delayMs`, unless the timeout comes first or the signal aborts (also before the start). */
function wait(delayMs: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<'done' | 'timedOut' | 'isCanceled'> {
  if (signal?.aborted) return Promise.resolve('isCanceled');
  if (delayMs <= 0) return Promise.resolve('done');
  return new Promise((resolve) => {
    const finish = (outcome: 'done' | 'timedOut' | 'isCanceled') => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish('isCanceled');
    const timer = setTimeout(() => finish(delayMs >= timeoutMs ? 'timedOut' : 'done'), Math.min(delayMs, timeoutMs));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
