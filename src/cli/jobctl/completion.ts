/**
 * Shell completion scripts, generated from the commander program itself (commands, aliases,
 * options and their choices), so they cannot drift from what jobctl accepts.
 */
import type { Command, Option } from "commander";

interface Spec {
  readonly names: string[];
  readonly description: string;
  readonly options: Option[];
}

function specs(program: Command): Spec[] {
  return program.commands
    .filter((c) => c.name() !== "help")
    .map((c) => ({
      names: [c.name(), ...c.aliases()],
      description: c.description(),
      options: c.options as Option[],
    }));
}

const flagsOf = (o: Option) => [o.long, o.short].filter((f): f is string => typeof f === "string");
const choicesOf = (o: Option) => (o as Option & { argChoices?: string[] }).argChoices ?? [];

export function bashCompletion(program: Command): string {
  const name = program.name();
  const globals = (program.options as Option[]).flatMap(flagsOf);
  const commands = specs(program);
  const cases = commands
    .map(
      (c) =>
        `    ${c.names.join("|")}) opts="${[...c.options.flatMap(flagsOf), ...globals, "--help"].join(" ")}" ;;`,
    )
    .join("\n");
  const choiceCases = commands
    .flatMap((c) => c.options)
    .filter((o) => choicesOf(o).length > 0)
    .map(
      (o) =>
        `    ${flagsOf(o).join("|")}) COMPREPLY=( $(compgen -W "${choicesOf(o).join(" ")}" -- "$cur") ); return ;;`,
    );
  const uniqueChoiceCases = [...new Set(choiceCases)].join("\n");
  return `# bash completion for ${name}: source <(${name} completion bash)
_${name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.flatMap((c) => c.names).join(" ")} ${globals.join(" ")}" -- "$cur") )
    return
  fi
  case "$prev" in
${uniqueChoiceCases}
  esac
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -F _${name} ${name}
`;
}

const zshEscape = (text: string) => text.replace(/'/g, "'\\''").replace(/[[\]:]/g, (c) => `\\${c}`);

function zshOption(o: Option): string[] {
  const description = zshEscape(o.description ?? "");
  const takesValue = o.required || o.optional;
  const choices = choicesOf(o);
  const value = takesValue
    ? `:${zshEscape(o.attributeName())}:${choices.length ? `(${choices.join(" ")})` : ""}`
    : "";
  return flagsOf(o).map((flag) => `'${flag}[${description}]${value}'`);
}

export function zshCompletion(program: Command): string {
  const name = program.name();
  const globals = (program.options as Option[]).flatMap(zshOption);
  const commands = specs(program);
  const described = commands
    .flatMap((c) => c.names.map((n) => `'${n}:${zshEscape(c.description)}'`))
    .join(" \\\n    ");
  const cases = commands
    .map(
      (c) =>
        `        ${c.names.join("|")})\n          _arguments ${[...c.options.flatMap(zshOption), ...globals, "'--help[show help]'", "'*::arg:_default'"].join(" \\\n            ")}\n          ;;`,
    )
    .join("\n");
  return `#compdef ${name}
# zsh completion for ${name}: ${name} completion zsh > "\${fpath[1]}/_${name}"
_${name}() {
  local curcontext="$curcontext" state line
  local -a commands
  commands=(
    ${described}
  )
  _arguments -C ${globals.join(" ")} '1: :->command' '*:: :->args'
  case $state in
    command) _describe 'command' commands ;;
    args)
      case $line[1] in
${cases}
      esac
      ;;
  esac
}
compdef _${name} ${name}
`;
}
