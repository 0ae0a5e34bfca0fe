// OpenSSH, as every command that connects uses it (ship, diff): the user's -F/-o/-J checked and turned
// into ssh's arguments, host operands parsed, one way to run ssh, the sudo preflight the remote side
// runs, and what ssh's own failures mean.
import { spawn, type ChildProcess, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { diagnostic, fail, type Diagnostic } from "../diagnostics.js";
import { parseTarget } from "../load/argv.js";
import { sh } from "../render/quote.js";
import type { Target } from "../types.js";

/** How the user reaches hosts, as ssh's own flags (-F, -o, -J). */
export interface SshOptions {
  /** `-u`: the ssh user of hosts given without one. */
  user?: string;
  sshConfig?: string;
  sshOption: string[];
  jump?: string;
}

/** How to reach hosts: what the user gave for ssh, checked. */
export interface SshSettings {
  configFile: string | undefined;
  /** `-o KEY=VALUE` options, in the order given. */
  options: string[];
  jump: string | undefined;
  /** No prompt can be answered (no TTY, or several hosts at once). */
  isBatch: boolean;
}

/** A host to reach: the name shown to the user and how ssh reaches it. */
export interface Destination {
  label: string;
  target: Target;
}

const JUMP = /^(?:([^@\s]+)@)?([^:@\s,]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/;

/** Checks -F, -o and -J before anything connects (bad input, exit 2) and turns them into settings. */
export function readSshSettings(options: SshOptions, isBatch: boolean): SshSettings {
  for (const option of options.sshOption) {
    if (!/^[A-Za-z][A-Za-z0-9]*[= ]\S/.test(option)) {
      fail("invalid-ssh-option", { option }, { variable: "--ssh-option" });
    }
  }
  if (options.jump !== undefined && !JUMP.test(options.jump)) {
    fail("invalid-jump", { jump: options.jump }, { variable: "--jump" });
  }
  if (options.user !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(options.user)) {
    fail("invalid-ssh-user", { user: options.user }, { variable: "--user" });
  }
  if (options.sshConfig !== undefined && !existsSync(options.sshConfig)) {
    fail("ssh-config-missing", { file: options.sshConfig }, { variable: "--ssh-config" });
  }
  return {
    configFile: options.sshConfig === undefined ? undefined : resolve(options.sshConfig),
    // As -o User=…: a user@host target still names its own (ssh -l beats it).
    options: [...(options.user === undefined ? [] : [`User=${options.user}`]), ...options.sshOption],
    jump: options.jump,
    isBatch,
  };
}

/**
 * Host operands (`@host`, `user@host`, `user@host:port`) after a BUNDLE; `firstIndex` is the first's
 * argv index, so a bad one is located. `what` names them in the message ("ship target", "host").
 */
export function parseDestinations(words: readonly string[], firstIndex: number, what: string, hint: string): Destination[] {
  return words.map((text, position) => {
    const origin = { kind: "argv" as const, index: position + firstIndex, text };
    const target = parseTarget(text.replace(/^@/, ""), origin);
    if (target === undefined || (!text.startsWith("@") && !text.includes("@"))) {
      return fail("invalid-target", { text, what, fix: hint }, { origin });
    }
    return { label: describeTarget(target), target };
  });
}

/** ssh's arguments. No user unless the target names one, so ssh config's `User` applies. */
export function sshArguments(destination: Destination, settings: SshSettings, command: string): string[] {
  const args: string[] = ["-T", ...hopOptions(settings)];
  // A host that vanishes mid-install is noticed within a minute instead of hanging the ship.
  args.push("-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4");
  if (settings.jump !== undefined) args.push("-o", `ProxyCommand=${jumpCommand(settings.jump, settings)}`);
  const { user, host, port } = destination.target;
  if (port !== undefined) args.push("-p", String(port));
  if (user !== undefined) args.push("-l", user);
  // `--`: whatever the host is, ssh reads it as the destination, never as an option.
  args.push("--", host, command);
  return args;
}

/** -F, the user's -o, then plc's checks: ssh keeps the first value it reads, so the user's win; these beat config files. */
function hopOptions(settings: SshSettings): string[] {
  const args: string[] = [];
  if (settings.configFile !== undefined) args.push("-F", settings.configFile);
  for (const option of settings.options) args.push("-o", option);
  args.push("-o", "StrictHostKeyChecking=yes");
  if (settings.isBatch) args.push("-o", "BatchMode=yes");
  return args;
}

/**
 * `-J host` as a ProxyCommand: ssh -J gives the jump hop only -F, so an unknown bastion key would
 * prompt (or pass) where plc promises strict checking. The hop gets the same options as the target.
 * ssh runs it through a shell after expanding %-tokens: words are shell-quoted and % doubled.
 */
function jumpCommand(jump: string, settings: SshSettings): string {
  const match = JUMP.exec(jump);
  if (match === null) throw new Error(`unreachable: -J ${jump} passed readSshSettings`);
  const [, user, host = "", port] = match;
  const words = ["ssh", ...hopOptions(settings)];
  if (port !== undefined) words.push("-p", port);
  if (user !== undefined) words.push("-l", user);
  words.push("-W", "[%h]:%p", "--", host.replace(/^\[|\]$/g, ""));
  return words.map((word) => (word === "[%h]:%p" ? word : sh(word).replace(/%/g, "%%"))).join(" ");
}

export interface SshRun {
  child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  /** Settles when ssh has exited and its pipes are closed; never rejects (a failed spawn is `spawnError`). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError: Error | undefined }>;
}

/** One ssh connection running `command` on the host; stdin is a pipe only when the caller sends a stream. */
export function runSsh(destination: Destination, settings: SshSettings, command: string, hasInput: boolean): SshRun {
  const args = sshArguments(destination, settings, command);
  const child = hasInput ? spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] }) : spawn("ssh", args, { stdio: ["ignore", "pipe", "pipe"] });
  return { child, exited: exitOf(child) };
}

/** How a child ended: its status or signal, or the error that kept it from starting. */
export function exitOf(child: ChildProcess): SshRun["exited"] {
  return new Promise((settle) => {
    let spawnError: Error | undefined;
    child.on("error", (error) => {
      spawnError = error;
    });
    child.on("close", (code, signal) => {
      settle({ code, signal, spawnError });
    });
  });
}

/** The diagnostic for ssh that could not even start. */
export function noSsh(error: Error): Diagnostic {
  return diagnostic("ssh-missing", { problem: error.message });
}

/**
 * Shell lines the remote side runs first: as root, `sudo` stays empty; otherwise sudo must work
 * without a password (plc never types one), or the script exits with `status` through its `fail`.
 * `connect` says how to connect as root instead ("ship", "connect"); `after` ends each message.
 */
export function sudoPreflight(status: number, connect: string, after = ""): string {
  return `if [ "$(id -u)" != 0 ]; then
  user=$(id -un)
  command -v sudo >/dev/null 2>&1 || fail ${status} "user $user is not root and sudo is not installed: ${connect} as root@host or install sudo${after}"
  if ! sudo -n true 2>/dev/null </dev/null; then
    # playlabs' deploy user may run only a few commands without a password (backup.sh, docker-run.sh, docker pull…).
    if sudo -n --list 2>/dev/null </dev/null | grep -q 'NOPASSWD'; then
      fail ${status} "user $user may run only some commands through sudo without a password (playlabs' deploy user: /home/*/backup.sh, /home/*/docker-run.sh, docker pull…); plc ${connect} runs as root, which needs the sudoers rule: $user ALL=(root) NOPASSWD: ALL, or ${connect} as root@host${after}"
    fi
    fail ${status} "sudo asks user $user for a password, which plc cannot type: allow it without one (sudoers: $user ALL=(root) NOPASSWD: ALL) or ${connect} as root@host${after}"
  fi
  sudo='sudo -n'`;
}

// ssh's words when no session was ever opened.
const CONNECT_ERRORS = /Could not resolve|Connection refused|timed out|No route to host|Network is unreachable|kex_exchange_identification|Name or service not known/i;

/** ssh's own failures before any remote command ran (host key, login, network); undefined when it got further. */
export function explainConnectFailure(destination: Destination, code: number | null, said: string): Diagnostic | undefined {
  const { label, target } = destination;
  // The key ssh complains about may be a jump host's: ssh names it, and that name goes in the hint.
  const named = /(?:Host key for|host key is known for|authenticity of host ')\s*'?(\[[^\]]+\]:\d+|[^\s']+?)'?(?: has changed| and|\s|$)/i.exec(said)?.[1];
  const hostKeyName = named ?? (target.port === undefined ? target.host : `[${target.host}]:${target.port}`);
  const keyHost = /^\[(.+)\]:(\d+)$/.exec(hostKeyName);
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(said)) {
    return diagnostic("host-key-changed", { host: label, keyName: hostKeyName });
  }
  if (/Host key verification failed|host key is known|not in the known_hosts|No .* host key is known/i.test(said)) {
    const scan = `ssh-keyscan ${keyHost === null ? hostKeyName : `-p ${keyHost[2] ?? ""} ${keyHost[1] ?? ""}`} >> ~/.ssh/known_hosts`;
    return diagnostic("host-key-unknown", { host: label, keyName: hostKeyName, scan });
  }
  if (/Permission denied/.test(said)) {
    return diagnostic("ssh-login", { host: label, said: lastLine(said), address: target.host });
  }
  if (code !== 255 || CONNECT_ERRORS.test(said)) {
    return diagnostic("ssh-connect", { host: label, said: lastLine(said) || `exit ${String(code)}`, command: `ssh ${target.port === undefined ? "" : `-p ${target.port} `}${target.user === undefined ? "" : `${target.user}@`}${target.host} true` });
  }
  return undefined;
}

export function lastLine(text: string): string {
  return text.split("\n").filter((line) => line.trim() !== "").pop() ?? "";
}

export function describeTarget(target: Target): string {
  return `${target.user === undefined ? "" : `${target.user}@`}${target.host}${target.port === undefined ? "" : `:${target.port}`}`;
}
