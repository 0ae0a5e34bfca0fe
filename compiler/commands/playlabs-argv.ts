// playlabs' command lines, turned into plc's before commander reads them: `plc @host deploy …` and
// `plc deploy @host …` are `plc ship @host …`; `-e k=v` and `-e '{json}'` are plain words; `-u=NAME`
// is `-u NAME`; `--limit HOST` is `@HOST`. Options of ansible-playbook that mean nothing to plc get
// an error saying what plc does instead. Each word keeps the index the user typed it at.
import { diagnostic, PlcError, type Diagnostic } from "../diagnostics.js";
import type { Origin } from "../types.js";

export interface RewrittenArgv {
  argv: string[];
  /** For each word of argv, its index in the command line as typed. */
  typedIndex: number[];
}

/** plc's commands that read a spec (the ones these forms apply to). */
const SPEC_COMMANDS = new Set(["ship", "build", "check", "explain", "render", "diff"]);

/** Options of plc that take a value: the word after them is never an action word or an operand. */
const WITH_VALUE = new Set([
  "-i", "--inventory", "-p", "--plugins", "--plugins-dir", "--vault-password-file", "--vault-id", "--image-archive",
  "-o", "--out-dir", "--output", "--ssh-option", "-F", "--ssh-config", "-J", "--jump", "--parallel", "--secrets", "-u", "--user",
]);

/** playlabs actions other than deploy, and what plc has instead. */
const ACTIONS = new Map<string, string>(Object.entries({
  backup: "backups run on the host: <home>/backup.sh (a systemd timer runs it daily; docs/host.md)",
  restore: "restores run on the host: <home>/restore.sh [SNAPSHOT] (docs/host.md)",
  log: "on the host: journalctl CONTAINER_NAME=<prefix>-<instance> (log_driver journald), and <home>/log",
  git: "plc has no git action: commit the inventory with git yourself",
}));

/** ansible-playbook options (playlabs passed them through) and what plc does instead. */
const ANSIBLE_OPTIONS: [RegExp, string][] = [
  [/^(--tags|-t|--skip-tags)$/, "plc has no tags: a ship runs the whole deploy, one transaction (install.sh); plc ship --check verifies without changing anything"],
  [/^(--ask-become-pass|-K|--ask-pass|-k|--become-password-file|--connection-password-file)$/, "plc never asks for passwords: it logs in with ssh keys and runs install.sh as root, through sudo -n when the user is not root (allow NOPASSWD, or ship as root@host)"],
  [/^(--become|-b|--become-user|--become-method)$/, "plc always runs install.sh as root, through sudo -n when the ssh user is not root"],
  [/^(--diff|-D)$/, "plc diff BUNDLE @host shows what a ship would change"],
  [/^(-v+|--verbose)$/, "plc ship prints each step, and the host keeps every deploy's output in <home>/.deploys/"],
  [/^(--forks|-f)$/, "plc ship --parallel N ships to N hosts at once"],
  [/^(--private-key|--key-file)$/, "give the ssh key with -o IdentityFile=FILE (or an ssh config, -F FILE)"],
  [/^(--ssh-extra-args|--ssh-common-args|--scp-extra-args|--sftp-extra-args)$/, "give ssh options with -o KEY=VALUE (or -F FILE)"],
  [/^(-c|--connection)$/, "@localhost deploys on this machine without ssh; other hosts are reached with ssh"],
  [/^(-T|--timeout)$/, "give ssh's connect timeout with -o ConnectTimeout=N; the health check's is timeout=N"],
  [/^(--ask-vault-pass|--ask-vault-password)$/, "give the vault password with --vault-password-file FILE (or $ANSIBLE_VAULT_PASSWORD_FILE)"],
  [/^(--start-at-task|--step|--syntax-check|--list-hosts|--list-tasks|--list-tags|--flush-cache|--force-handlers|-M|--module-path)$/, "plc has no tasks: plc check validates, plc ship --dry-run shows what would run on each host"],
];

/** playlabs' host preparation, which plc has as commands of their own (first word). */
const PREP_ACTIONS = new Map<string, string>(Object.entries({
  init: "plc init user@host (a sudo user with your key, then password login off)",
  install: "plc install ROLES @host -i inventory (ssh, deploy, docker, firewall, nginx)",
}));

/** Rewrites playlabs' forms; throws located diagnostics (argv[N]) for options plc has no use for. */
export function rewritePlaylabsArgv(raw: readonly string[]): RewrittenArgv {
  const words = raw.map((text, index) => ({ text, index }));
  const first = words[0]?.text ?? "";
  const isTarget = (text: string): boolean => text.startsWith("@") || /^[A-Za-z_][A-Za-z0-9_.-]*@[A-Za-z0-9[]/.test(text);
  // `plc @host deploy …`, `plc deploy @host …`: playlabs' action word anywhere, plc's command first.
  let command = first;
  if (first === "deploy" || (isTarget(first) && !SPEC_COMMANDS.has(first))) {
    command = "ship";
    if (first === "deploy") words.shift();
  } else if (ACTIONS.has(first)) {
    throw new PlcError([diagnostic("playlabs-action", { action: first, fix: ACTIONS.get(first) }, { origin: { kind: "argv", index: 0, text: first } })]);
  } else if (!SPEC_COMMANDS.has(first)) {
    return { argv: [...raw], typedIndex: raw.map((_, index) => index) };
  } else {
    words.shift();
  }
  const problems: Diagnostic[] = [];
  const origin = (index: number, text: string): Origin => ({ kind: "argv", index, text });
  const out: { text: string; index: number }[] = [];
  const users: { text: string; index: number }[] = [];
  let isOperandsOnly = false;
  for (let at = 0; at < words.length; at++) {
    const word = words[at] ?? { text: "", index: 0 };
    const text = word.text;
    const next = words[at + 1];
    if (isOperandsOnly) {
      out.push(word);
      continue;
    }
    if (text === "--") {
      isOperandsOnly = true;
      out.push(word);
      continue;
    }
    if (WITH_VALUE.has(text) && text !== "-u" && text !== "--user") {
      out.push(word);
      if (next !== undefined) out.push(next);
      at++;
      continue;
    }
    // -e k=v / -e '{json}' / --extra-vars=…: the word itself, as plc reads it anywhere.
    const extra = /^(?:-e|--extra-vars)(?:=(.*))?$/s.exec(text) ?? /^-e(.+)$/s.exec(text);
    if (extra !== null) {
      const value = extra[1] ?? next?.text;
      const valueIndex = extra[1] === undefined ? (next?.index ?? word.index) : word.index;
      if (extra[1] === undefined) at++;
      if (value === undefined) {
        problems.push(diagnostic("option-needs-value", { option: text, needs: "a value", fix: "write -e name=value or -e '{\"name\": \"value\"}'" }, { origin: origin(word.index, text) }));
      } else if (value.startsWith("@")) {
        problems.push(
          diagnostic("variables-file", { value }, { origin: origin(valueIndex, value) }),
        );
      } else {
        out.push({ text: value, index: valueIndex });
      }
      continue;
    }
    // -u NAME, --user NAME, -u=NAME, --user=NAME (playlabs' forms): once.
    const user = /^(?:-u|--user)(?:=(.*))?$/s.exec(text);
    if (user !== null) {
      const value = user[1] ?? next?.text;
      if (user[1] === undefined) at++;
      if (value === undefined || value === "") {
        problems.push(diagnostic("option-needs-value", { option: text, needs: "a user name", fix: "write -u NAME" }, { origin: origin(word.index, text) }));
        continue;
      }
      users.push({ text, index: word.index });
      out.push({ text: "--user", index: word.index }, { text: value, index: user[1] === undefined ? (next?.index ?? word.index) : word.index });
      continue;
    }
    const limit = /^(?:--limit|-l)(?:=(.*))?$/s.exec(text);
    if (limit !== null) {
      const value = limit[1] ?? next?.text;
      if (limit[1] === undefined) at++;
      const hosts = (value ?? "").split(",").filter((host) => host !== "");
      if (hosts.length === 0) problems.push(diagnostic("option-needs-value", { option: text, needs: "a host", fix: "write --limit HOST (or @HOST)" }, { origin: origin(word.index, text) }));
      for (const host of hosts) out.push({ text: host.startsWith("@") ? host : `@${host}`, index: word.index });
      continue;
    }
    const ansible = ANSIBLE_OPTIONS.find(([pattern]) => pattern.test(text.replace(/=.*$/s, "")));
    if (ansible !== undefined) {
      problems.push(diagnostic("ansible-option", { option: text.replace(/=.*$/s, ""), fix: ansible[1] }, { origin: origin(word.index, text) }));
      continue;
    }
    if (command === "ship" && text === "deploy") continue;
    // plc's own host preparation, in its own word order.
    const action = ACTIONS.get(text) ?? PREP_ACTIONS.get(text);
    if (command === "ship" && action !== undefined) {
      problems.push(diagnostic("playlabs-action", { action: text, fix: action }, { origin: origin(word.index, text) }));
      continue;
    }
    out.push(word);
  }
  if (users.length > 1) {
    const second = users[1] ?? { text: "", index: 0 };
    problems.push(diagnostic("ssh-user-twice", {}, { origin: origin(second.index, second.text) }));
  }
  const atUser = out.find((word) => /^@?[A-Za-z_][A-Za-z0-9_.-]*@/.test(word.text) && !word.text.includes("/") && !word.text.includes("@sha256:"));
  if (users.length > 0 && atUser !== undefined) {
    problems.push(diagnostic("ssh-user-twice", { other: atUser.text }, { origin: origin(atUser.index, atUser.text) }));
  }
  if (problems.length > 0) throw new PlcError(problems);
  return { argv: [command, ...out.map((word) => word.text)], typedIndex: [0, ...out.map((word) => word.index)] };
}
