// `plc completion bash|zsh`: shell completion written from the commander program itself, so a new
// command or option completes without anyone editing a list.
import type { Argument, Command } from "commander";
import { readPlugins } from "./load/plugins.js";
import { readProjectSchema, schemaFor } from "./validate/index.js";

/** What a value may be, judged from its placeholder (`<dir>`, `<file>`, `<host>`) or its choices. */
export type ValueKind = { kind: "directory" } | { kind: "file" } | { kind: "host" } | { kind: "choices"; words: string[] } | { kind: "word" };

export interface CompletionOption {
  /** `-i` and `--inventory`, as the user may type them. */
  flags: string[];
  description: string;
  /** undefined when the option takes no value. */
  value: ValueKind | undefined;
  isRepeatable: boolean;
}

/** What the words after a command are. */
export type OperandKind = ValueKind | { kind: "variables" } | { kind: "commands" };

export interface CompletionCommand {
  name: string;
  aliases: string[];
  description: string;
  options: CompletionOption[];
  operands: OperandKind;
}

export interface CompletionTree {
  name: string;
  options: CompletionOption[];
  commands: CompletionCommand[];
  /** `name=` and `env.` words a spec command accepts. */
  variables: string[];
}

export const SHELLS = ["bash", "zsh"] as const;
export type Shell = (typeof SHELLS)[number];

function valueKind(placeholder: string, choices: readonly string[] | undefined): ValueKind {
  if (choices !== undefined && choices.length > 0) return { kind: "choices", words: [...choices] };
  if (/dir/i.test(placeholder)) return { kind: "directory" };
  if (/file|bundle|archive/i.test(placeholder)) return { kind: "file" };
  if (/host/i.test(placeholder)) return { kind: "host" };
  return { kind: "word" };
}

function operandKind(args: readonly Argument[]): OperandKind {
  const withChoices = args.find((arg) => arg.argChoices !== undefined);
  if (withChoices !== undefined) return valueKind(withChoices.name(), withChoices.argChoices);
  if (args.some((arg) => arg.name() === "vars")) return { kind: "variables" };
  if (args.some((arg) => arg.name() === "command")) return { kind: "commands" };
  const first = args[0];
  return first === undefined ? { kind: "word" } : valueKind(first.name(), undefined);
}

function optionsOf(command: Command): CompletionOption[] {
  // Help's list: the help and version options commander adds are in it, hidden ones are not.
  return command
    .createHelp()
    .visibleOptions(command)
    .map((option) => {
      const placeholder = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1];
      const isRepeatable = option.variadic || Array.isArray(option.defaultValue);
      return {
        flags: [option.short, option.long].filter((flag): flag is string => flag !== undefined),
        description: option.description,
        value: placeholder === undefined ? undefined : valueKind(placeholder, option.argChoices),
        isRepeatable,
      };
    });
}

/** Walks the program's commands and options (the implicit `help` command included). */
export function describeProgram(program: Command, variables: readonly string[]): CompletionTree {
  const help = program.createHelp();
  const commands = help.visibleCommands(program).map((command) => ({
    name: command.name(),
    aliases: command.aliases(),
    description: help.subcommandDescription(command),
    options: optionsOf(command),
    operands: operandKind(command.registeredArguments),
  }));
  return { name: program.name(), options: optionsOf(program), commands, variables: [...variables] };
}

/** `name=` for every variable, `env.` for the nested environment, as the command line takes them. */
export function variableWords(cwd: string): string[] {
  const schema = schemaFor(readPlugins([], cwd), readProjectSchema());
  return Object.keys(schema.properties)
    .map((name) => (name === "env" ? "env." : `${name}=`))
    .sort();
}

// Words of plc's own commands and options hold none of these; a quote would still be escaped.
const singleQuoted = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** A bash script defining the completion function and registering it for the program. */
export function bashCompletion(tree: CompletionTree): string {
  const fn = `_${tree.name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const reply = (words: readonly string[]): string => `COMPREPLY=($(compgen -W ${singleQuoted(words.join(" "))} -- "$cur"))`;
  const valueReply = (value: ValueKind | OperandKind, tree: CompletionTree): string => {
    switch (value.kind) {
      case "directory":
        return `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))`;
      case "file":
        return `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))`;
      case "host":
        return `COMPREPLY=($(compgen -A hostname -- "$cur"))`;
      case "choices":
        return reply(value.words);
      case "commands":
        return reply(tree.commands.map((command) => command.name));
      case "variables":
        // Variables first (no space after `name=`); files when none matches (a BUNDLE, a JSON file).
        return `${reply(tree.variables)}; if [ \${#COMPREPLY[@]} -gt 0 ]; then compopt -o nospace 2>/dev/null; else compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); fi`;
      case "word":
        return "COMPREPLY=()";
    }
  };
  const optionCases = (options: readonly CompletionOption[]): string[] => {
    const out: string[] = [];
    for (const option of options) {
      if (option.value === undefined) continue;
      out.push(`        ${option.flags.join("|")}) ${valueReply(option.value, tree)}; return ;;`);
    }
    return out;
  };
  const flagsOf = (options: readonly CompletionOption[]): string[] => options.flatMap((option) => option.flags);

  const lines = [
    `# bash completion for ${tree.name}, written by \`${tree.name} completion bash\` from its own commands.`,
    `# Load it now: source <(${tree.name} completion bash)`,
    `# or for good: ${tree.name} completion bash > ~/.local/share/bash-completion/completions/${tree.name}`,
    `${fn}() {`,
    "  local cur prev command i",
    "  COMPREPLY=()",
    '  cur=${COMP_WORDS[COMP_CWORD]}',
    '  prev=${COMP_WORDS[COMP_CWORD-1]}',
    "  command=",
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    '    case ${COMP_WORDS[i]} in',
    "      -*) ;;",
    '      *) command=${COMP_WORDS[i]}; break ;;',
    "    esac",
    "  done",
    "  # bash splits words at @ and =: complete the host after @, and leave a value after = alone.",
    '  case $prev in',
    `    @) COMPREPLY=($(compgen -A hostname -- "$cur")); return ;;`,
    "    =) return ;;",
    "  esac",
    '  case $command in',
    "    '')",
    '      case $cur in',
    `        -*) ${reply(flagsOf(tree.options))} ;;`,
    `        *) ${reply(tree.commands.flatMap((command) => [command.name, ...command.aliases]))} ;;`,
    "      esac",
    "      ;;",
  ];
  for (const command of tree.commands) {
    lines.push(`    ${[command.name, ...command.aliases].join("|")})`);
    const cases = optionCases(command.options);
    if (cases.length > 0) lines.push('      case $prev in', ...cases, "      esac");
    lines.push(
      '      case $cur in',
      `        -*) ${reply(flagsOf(command.options))} ;;`,
      `        *) ${valueReply(command.operands, tree)} ;;`,
      "      esac",
      "      ;;",
    );
  }
  lines.push("  esac", "}", `complete -F ${fn} ${tree.name}`);
  return lines.join("\n") + "\n";
}

/** zsh's `_arguments` needs [, ], : and \ escaped inside a description, and the whole spec single-quoted. */
function zshDescription(text: string): string {
  return text.replace(/[\\[\]:]/g, (character) => `\\${character}`).replace(/\s+/g, " ");
}

function zshAction(value: ValueKind | OperandKind, fn: string): string {
  switch (value.kind) {
    case "directory":
      return "_files -/";
    case "file":
      return "_files";
    case "host":
      return "_hosts";
    case "choices":
      return `(${value.words.join(" ")})`;
    case "commands":
      return `${fn}_commands`;
    case "variables":
      return `${fn}_variables`;
    case "word":
      return " ";
  }
}

/** A zsh script: `#compdef` for $fpath, and a compdef call when it is sourced. */
export function zshCompletion(tree: CompletionTree): string {
  const fn = `_${tree.name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const optionSpecs = (options: readonly CompletionOption[]): string[] =>
    options.flatMap((option) => {
      const exclusive = option.isRepeatable ? "*" : option.flags.length > 1 ? `(${option.flags.join(" ")})` : "";
      const value = option.value === undefined ? "" : `:${option.value.kind}:${zshAction(option.value, fn)}`;
      return option.flags.map((flag) => singleQuoted(`${exclusive}${flag}[${zshDescription(option.description)}]${value}`));
    });
  const describeItems = tree.commands.flatMap((command) =>
    [command.name, ...command.aliases].map((name) => `    ${singleQuoted(`${name}:${command.description.replace(/\s+/g, " ")}`)}`),
  );

  const lines = [
    `#compdef ${tree.name}`,
    `# zsh completion for ${tree.name}, written by \`${tree.name} completion zsh\` from its own commands.`,
    `# Load it now: source <(${tree.name} completion zsh)`,
    `# or for good: ${tree.name} completion zsh > "\${fpath[1]}/_${tree.name}"`,
    "",
    `${fn}_commands() {`,
    "  local -a commands",
    "  commands=(",
    ...describeItems,
    "  )",
    `  _describe -t commands ${singleQuoted(`${tree.name} command`)} commands`,
    "}",
    "",
    `${fn}_variables() {`,
    "  local -a variables",
    `  variables=(${tree.variables.map(singleQuoted).join(" ")})`,
    "  compadd -S '' -a variables",
    "  _files",
    "}",
    "",
    `${fn}() {`,
    '  local curcontext="$curcontext" state line',
    "  typeset -A opt_args",
    "  _arguments -C \\",
    ...optionSpecs(tree.options).map((spec) => `    ${spec} \\`),
    `    '1: :${fn}_commands' \\`,
    "    '*:: :->argument'",
    '  case $state in',
    "    argument)",
    '      case $line[1] in',
  ];
  for (const command of tree.commands) {
    const operand = command.operands.kind === "word" ? "'*: :'" : singleQuoted(`*:${command.operands.kind}:${zshAction(command.operands, fn)}`);
    lines.push(`        ${[command.name, ...command.aliases].join("|")})`, "          _arguments -s \\");
    lines.push(...optionSpecs(command.options).map((spec) => `            ${spec} \\`));
    lines.push(`            ${operand}`, "          ;;");
  }
  lines.push("      esac", "      ;;", "  esac", "}", "", `if [ "$funcstack[1]" = ${singleQuoted(fn)} ]; then`, `  ${fn} "$@"`, "else", `  compdef ${fn} ${tree.name}`, "fi");
  return lines.join("\n") + "\n";
}
