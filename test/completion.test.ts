// plc completion: scripts written from the program's own commands parse, load, and complete.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CLI } from "./fixtures.js";
import { requireTool, runTool } from "./tools.js";

const plc = (...args: string[]) => runTool(process.execPath, [CLI, ...args]);

/** Every command of the program, read from its help (the same program the script was walked from). */
function commandNames(): string[] {
  const help = plc("--help").stdout;
  const section = (help.split(/^Commands:$/m)[1] ?? "").split(/\n\s*\n/)[0] ?? "";
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((match) => match[1] ?? "");
}

test("bash: parses, registers, names every command, completes commands, options and values", (t) => {
  if (!requireTool(t, "bash")) return;
  const script = plc("completion", "bash");
  assert.equal(script.status, 0, script.stderr);
  const names = commandNames();
  assert.ok(names.includes("diff") && names.includes("ship") && names.includes("completion"), names.join(" "));
  for (const name of names) assert.match(script.stdout, new RegExp(`^ {4}${name}\\)$`, "m"), `no case for ${name}`);
  assert.equal(runTool("bash", ["-n"], { input: script.stdout }).status, 0);
  const loaded = runTool("bash", ["-c", `source <('${process.execPath}' '${CLI}' completion bash); complete -p plc`]);
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.equal(loaded.stdout.trim(), "complete -F _plc plc");

  const complete = (...words: string[]): string[] => {
    const program = `${script.stdout}\nCOMP_WORDS=(${words.map((word) => `'${word}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _plc; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = runTool("bash", ["-c", program]);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.split("\n").filter((line) => line !== "");
  };
  assert.deepEqual(complete("plc", "di"), ["diff"]);
  assert.deepEqual(complete("plc", "ship", "--ssh-c"), ["--ssh-config"]);
  assert.deepEqual(complete("plc", "build", "--embed"), ["--embed-secrets"]);
  assert.deepEqual(complete("plc", "build", "ima"), ["image="]);
  assert.deepEqual(complete("plc", "completion", ""), ["bash", "zsh"]);
  assert.ok(complete("plc", "build", "-i", "").every((entry) => !entry.includes("=")), "a directory after -i");
});

test("zsh: parses and registers (zsh -n when zsh is installed)", (t) => {
  const script = plc("completion", "zsh");
  assert.equal(script.status, 0, script.stderr);
  assert.match(script.stdout, /^#compdef plc$/m);
  for (const name of commandNames()) assert.match(script.stdout, new RegExp(`^ {4}'${name}:`, "m"), `${name} is not described`);
  if (!requireTool(t, "zsh")) return;
  assert.equal(runTool("zsh", ["-n"], { input: script.stdout }).status, 0);
  const loaded = runTool("zsh", ["-fc", `autoload -U compinit; compinit -u -D; source <('${process.execPath}' '${CLI}' completion zsh); print -r -- $_comps[plc]`]);
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.equal(loaded.stdout.trim(), "_plc");
});

test("an unknown shell is refused", () => {
  const result = plc("completion", "fish");
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /Allowed choices are bash, zsh/);
});
