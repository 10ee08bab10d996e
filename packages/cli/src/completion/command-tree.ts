import type { Command, Option } from 'commander';

/** What an option's value completes to. */
export type OptionValue = 'none' | 'file' | 'dir' | 'choice' | 'word';

/** One option as a completion script sees it. */
export interface OptionSpec {
  /** Every spelling: `-c`, `--config`. */
  names: string[];
  short: string | undefined;
  long: string | undefined;
  description: string;
  value: OptionValue;
  /** Allowed values, for {@link OptionValue} `choice`. */
  choices: string[];
}

/** One command level (the program itself has path `''`). */
export interface CommandSpec {
  /** Subcommand names from the program down, space-separated: `''`, `lab`, `lab up`. */
  path: string;
  subcommands: { name: string; description: string }[];
  /** The level's own options and the global ones it accepts. */
  options: OptionSpec[];
  /** Allowed values of its positional arguments, when they are choices (`completion <shell>`). */
  argumentChoices: string[];
}

function optionSpec(option: Option): OptionSpec {
  const takesValue = option.required || option.optional;
  const choices = option.argChoices ?? [];
  const value: OptionValue = !takesValue
    ? 'none'
    : choices.length
      ? 'choice'
      : /<file>|\[file\]/.test(option.flags)
        ? 'file'
        : /<dir>|\[dir\]/.test(option.flags)
          ? 'dir'
          : 'word';
  return {
    names: [option.short, option.long].filter((n): n is string => Boolean(n)),
    short: option.short,
    long: option.long,
    description: option.description,
    value,
    choices,
  };
}

/**
 * Every visible command level of `program`, read through commander's own help model (hidden
 * commands and options stay hidden), so a completion script made from it lists exactly what
 * `--help` does.
 */
export function commandTree(program: Command): CommandSpec[] {
  const out: CommandSpec[] = [];
  const visit = (cmd: Command, path: string) => {
    const help = cmd.createHelp();
    const subcommands = help.visibleCommands(cmd);
    const options = [...help.visibleOptions(cmd), ...(cmd === program ? [] : help.visibleGlobalOptions(cmd))];
    out.push({
      path,
      subcommands: subcommands.map((c) => ({ name: c.name(), description: c.description() })),
      options: options.map(optionSpec),
      argumentChoices: cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
    });
    for (const sub of subcommands) {
      // commander's implicit `help [command]` has no subcommands of its own to walk.
      if (sub.name() !== 'help' || sub.commands.length > 0) visit(sub, path ? `${path} ${sub.name()}` : sub.name());
    }
  };
  visit(program, '');
  return out;
}
