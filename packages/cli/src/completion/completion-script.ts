import type { Command } from 'commander';
import { type CommandSpec, commandTree, type OptionSpec } from './command-tree.js';

/** Shells `cluster-lab completion` writes scripts for. */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;

/** One of {@link COMPLETION_SHELLS}. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** Quotes `text` as one shell word (bash, zsh and fish all read `'…'` literally; fish escapes `'` and `\` inside). */
function sq(text: string, shell: CompletionShell): string {
  return shell === 'fish' ? `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'` : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `case` patterns for the words that move from one level to the next, and for options whose value is the next word. */
function walkCases(tree: CommandSpec[], shell: CompletionShell): { descend: string[]; skipValue: string[] } {
  const descend = tree.flatMap((level) => level.subcommands.map((s) => sq(`${level.path}|${s.name}`, shell)));
  const skipValue = tree.flatMap((level) =>
    level.options.filter((o) => o.value !== 'none').flatMap((o) => o.names.map((n) => sq(`${level.path}|${n}`, shell))),
  );
  return { descend, skipValue };
}

/** Levels × options grouped by what their value completes to. */
function valueCases(tree: CommandSpec[], shell: CompletionShell): { patterns: string[]; option: OptionSpec }[] {
  return tree.flatMap((level) =>
    level.options
      .filter((o) => o.value !== 'none')
      .map((option) => ({ patterns: option.names.map((n) => sq(`${level.path}|${n}`, shell)), option })),
  );
}

const HEADER = (shell: CompletionShell, install: string) =>
  `# ${shell} completion for cluster-lab, generated from the program by \`cluster-lab completion ${shell}\`.\n# Install: ${install}\n`;

function bash(tree: CommandSpec[]): string {
  const { descend, skipValue } = walkCases(tree, 'bash');
  const values = valueCases(tree, 'bash').map(({ patterns, option }) => {
    const reply =
      option.value === 'choice'
        ? `COMPREPLY=($(compgen -W ${sq(option.choices.join(' '), 'bash')} -- "$cur"))`
        : option.value === 'file'
          ? 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))'
          : option.value === 'dir'
            ? 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))'
            : 'COMPREPLY=()';
    return `    ${patterns.join('|')}) ${reply}; return 0 ;;`;
  });
  const levels = tree.map((level) => {
    const words = [...level.subcommands.map((s) => s.name), ...level.argumentChoices];
    const options = level.options.flatMap((o) => o.names);
    return `    ${sq(level.path, 'bash')}) words=${sq(words.join(' '), 'bash')} options=${sq(options.join(' '), 'bash')} ;;`;
  });
  return `${HEADER('bash', 'cluster-lab completion bash > /etc/bash_completion.d/cluster-lab (or: source <(cluster-lab completion bash))')}
_cluster_lab() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmdpath='' word words='' options='' i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    # After "--" come another program's arguments (lab exec): complete files and commands.
    [[ $word == -- ]] && return 0
    case "$cmdpath|$word" in
    ${descend.join('|')}) cmdpath=\${cmdpath:+$cmdpath }$word ;;
    ${skipValue.join('|')}) ((i++)) ;;
    esac
  done
  case "$cmdpath|$prev" in
${values.join('\n')}
  esac
  case "$cmdpath" in
${levels.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o bashdefault -o default -F _cluster_lab cluster-lab
`;
}

function zsh(tree: CommandSpec[]): string {
  const { descend, skipValue } = walkCases(tree, 'zsh');
  const escapeColon = (name: string) => name.replace(/:/g, '\\:');
  const values = valueCases(tree, 'zsh').map(({ patterns, option }) => {
    const reply =
      option.value === 'choice'
        ? `compadd -- ${option.choices.map((c) => sq(c, 'zsh')).join(' ')}`
        : option.value === 'file'
          ? '_files'
          : option.value === 'dir'
            ? '_files -/'
            : `_message ${sq(option.description || 'value', 'zsh')}`;
    return `    ${patterns.join('|')}) ${reply}; return ;;`;
  });
  const levels = tree.map((level) => {
    const cmds = [
      ...level.subcommands.map((s) => sq(`${escapeColon(s.name)}:${s.description}`, 'zsh')),
      ...level.argumentChoices.map((c) => sq(escapeColon(c), 'zsh')),
    ];
    const opts = level.options.flatMap((o) => o.names.map((n) => sq(`${escapeColon(n)}:${o.description}`, 'zsh')));
    return `    ${sq(level.path, 'zsh')}) cmds=(${cmds.join(' ')}); opts=(${opts.join(' ')}) ;;`;
  });
  return `#compdef cluster-lab
${HEADER('zsh', 'cluster-lab completion zsh > ~/.zfunc/_cluster-lab (a folder on $fpath), or: source <(cluster-lab completion zsh)')}
_cluster_lab() {
  # Not "path": zsh ties that name to $PATH.
  local cmdpath='' word prev=\${words[CURRENT-1]} i
  local -a cmds opts
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    # After "--" come another program's arguments (lab exec): complete files and commands.
    if [[ $word == -- ]]; then _normal; return; fi
    case "$cmdpath|$word" in
    ${descend.join('|')}) cmdpath=\${cmdpath:+$cmdpath }$word ;;
    ${skipValue.join('|')}) ((i++)) ;;
    esac
  done
  case "$cmdpath|$prev" in
${values.join('\n')}
  esac
  case "$cmdpath" in
${levels.join('\n')}
  esac
  if [[ $PREFIX == -* ]]; then
    _describe -t options option opts
  elif (( \${#cmds} )); then
    _describe -t commands command cmds
  else
    _files
  fi
}
if [[ $funcstack[1] == _cluster_lab ]]; then _cluster_lab "$@"; else compdef _cluster_lab cluster-lab; fi
`;
}

function fish(tree: CommandSpec[]): string {
  const { descend, skipValue } = walkCases(tree, 'fish');
  const lines: string[] = [];
  for (const level of tree) {
    const at = `-n ${sq(`__cluster_lab_at ${sq(level.path, 'fish')}`, 'fish')}`;
    for (const s of level.subcommands) lines.push(`complete -c cluster-lab ${at} -a ${sq(s.name, 'fish')} -d ${sq(s.description, 'fish')}`);
    if (level.argumentChoices.length) lines.push(`complete -c cluster-lab ${at} -a ${sq(level.argumentChoices.join(' '), 'fish')}`);
    for (const o of level.options) {
      const names = [o.short ? `-s ${o.short.slice(1)}` : '', o.long ? `-l ${o.long.slice(2)}` : ''].filter(Boolean).join(' ');
      const value =
        o.value === 'choice'
          ? `-x -a ${sq(o.choices.join(' '), 'fish')}`
          : o.value === 'file' || o.value === 'dir'
            ? '-r -F'
            : o.value === 'word'
              ? '-x'
              : '';
      lines.push(`complete -c cluster-lab ${at} ${names}${value ? ` ${value}` : ''} -d ${sq(o.description, 'fish')}`);
    }
  }
  return `${HEADER('fish', 'cluster-lab completion fish > ~/.config/fish/completions/cluster-lab.fish')}
function __cluster_lab_path
    set -l cmdpath ''
    set -l skip 0
    for word in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch "$cmdpath|$word"
            case ${descend.join(' ')}
                set cmdpath (string trim -- "$cmdpath $word")
            case ${skipValue.join(' ')}
                set skip 1
        end
    end
    echo $cmdpath
end

function __cluster_lab_at
    set -l here (__cluster_lab_path)
    test "$here" = "$argv[1]"
end

complete -c cluster-lab -f
${lines.join('\n')}
`;
}

/**
 * A completion script for `shell`, generated from the commander program itself (every visible
 * command, option and choice), so it cannot drift from the CLI.
 *
 * @example
 * ```ts
 * process.stdout.write(completionScript(buildProgram(), 'bash'));
 * ```
 */
export function completionScript(program: Command, shell: CompletionShell): string {
  const tree = commandTree(program);
  return shell === 'bash' ? bash(tree) : shell === 'zsh' ? zsh(tree) : fish(tree);
}
