// The playlabs command-line forms, turned into assignments with their argv position.
import { diagnostic, PlcError, type Diagnostic } from "../diagnostics.js";
import type { Assignment, Origin, Target } from "../types.js";

/** A command-line word and its index in the words given after the subcommand. */
export interface Word {
  text: string;
  index: number;
}

export interface ParsedArgv {
  assignments: Assignment[];
  targets: Target[];
}

// `user@host[:port]` as a ship target, as opposed to `repo@sha256:…` image digests.
const TARGET = /^(?:([A-Za-z_][A-Za-z0-9_.-]*)@)?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/;

/** Reads `key=value`, `env.KEY=value`, JSON objects, `@host` targets and a bare image. */
export function parseArgv(words: readonly Word[]): ParsedArgv {
  const assignments: Assignment[] = [];
  const targets: Target[] = [];
  const problems: Diagnostic[] = [];
  for (const word of words) {
    const origin: Origin = { kind: "argv", index: word.index, text: word.text };
    const text = word.text;
    if (text.startsWith("{") || text.startsWith("[")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        problems.push(
          diagnostic("invalid-json", { problem: (error as Error).message }, { origin }),
        );
        continue;
      }
      if (!isPlainObject(parsed)) {
        problems.push(
          diagnostic("json-not-object", {}, { origin }),
        );
        continue;
      }
      assignments.push(...flatten([], parsed, origin));
      continue;
    }
    const equals = text.indexOf("=");
    if (equals > 0) {
      const name = text.slice(0, equals);
      const path = name.split(".");
      if (path.some((part) => part === "")) {
        problems.push(
          diagnostic("invalid-variable-name", { name }, { origin }),
        );
        continue;
      }
      assignments.push({ path, value: text.slice(equals + 1), origin, isSecret: false });
      continue;
    }
    if (text.startsWith("@")) {
      const target = parseTarget(text.slice(1), origin);
      if (target) targets.push(target);
      else problems.push(badTarget(text, origin));
      continue;
    }
    if (text.includes("@") && !text.includes("@sha256:") && !text.includes("/")) {
      const target = parseTarget(text, origin);
      if (target) targets.push(target);
      else problems.push(badTarget(text, origin));
      continue;
    }
    // A bare word is the image, as in `playlabs @host deploy betagouv/mrs:master`; a word with no
    // repository path or tag (playlabs' `extra-opt2`, a misplaced action) is not taken for one.
    if (!/[/:]/.test(text)) {
      problems.push(
        diagnostic("invalid-operand", { text }, { origin }),
      );
      continue;
    }
    assignments.push({ path: ["image"], value: text, origin, isSecret: false });
  }
  if (problems.length > 0) throw new PlcError(problems);
  return { assignments, targets };
}

export function parseTarget(text: string, origin: Origin): Target | undefined {
  const match = TARGET.exec(text);
  if (!match) return undefined;
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const host = match[2] ?? "";
  return { user: match[1], host: host.replace(/^\[|\]$/g, ""), port, origin };
}

function badTarget(text: string, origin: Origin): Diagnostic {
  return diagnostic("invalid-target", { text, what: "ship target" }, { origin });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Objects merge key by key across layers, so they travel as one assignment per leaf. */
export function flatten(path: string[], value: unknown, origin: Origin, isSecret = false): Assignment[] {
  // `'{}'` sets nothing (it is not "replace every variable with an empty object").
  if (path.length === 0 && isPlainObject(value) && Object.keys(value).length === 0) return [];
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    return Object.keys(value).flatMap((key) => flatten([...path, key], value[key], origin, isSecret));
  }
  return [{ path, value, origin, isSecret }];
}
