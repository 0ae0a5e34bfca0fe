// Diagnostics are values: a code from the catalogue, a message, where, and a hint.
// Only cli.ts turns them into text and an exit code.
import { isAbsolute, relative } from "node:path";
import type { Origin } from "./types.js";

export const CATALOGUE = {
  // bad input: exit 2
  "unknown-variable": "input",
  "invalid-value": "input",
  "invalid-name": "input",
  "invalid-yaml": "input",
  "invalid-json": "input",
  "invalid-argument": "input",
  "missing-inventory": "input",
  "missing-value": "input",
  "invalid-image": "input",
  "invalid-text": "input",
  "vault-error": "input",
  "vault-in-clear": "input",
  "unreadable-file": "input",
  "unknown-plugin": "input",
  "plugin-cycle": "input",
  "plugin-requires": "input",
  "invalid-plugin": "input",
  "template-error": "input",
  "invalid-image-archive": "input",
  // failures while doing the job: exit 1
  "bundle-invalid": "failure",
  "ship-failed": "failure",
  "diff-failed": "failure",
  "io-error": "failure",
  "prep-failed": "failure",
} as const;

export type DiagnosticCode = keyof typeof CATALOGUE;

export interface Diagnostic {
  code: DiagnosticCode;
  message: string;
  origin: Origin | undefined;
  /** The variable concerned, as a dotted path (`env.SECRET_KEY`). */
  variable: string | undefined;
  hint: string | undefined;
}

export function diagnostic(
  code: DiagnosticCode,
  message: string,
  details: { origin?: Origin | undefined; variable?: string | undefined; hint?: string | undefined } = {},
): Diagnostic {
  return { code, message, origin: details.origin, variable: details.variable, hint: details.hint };
}

/** Thrown by a phase that cannot go on; carries every diagnostic found so far. */
export class PlcError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join("\n"));
    this.name = "PlcError";
    this.diagnostics = diagnostics;
  }
}

export function fail(code: DiagnosticCode, message: string, details?: Parameters<typeof diagnostic>[2]): never {
  throw new PlcError([diagnostic(code, message, details)]);
}

export function exitCodeOf(diagnostics: readonly Diagnostic[]): number {
  return diagnostics.some((d) => CATALOGUE[d.code] === "input") ? 2 : 1;
}

export function formatOrigin(origin: Origin): string {
  switch (origin.kind) {
    case "file":
      return `${origin.file}:${origin.line}:${origin.col}`;
    case "argv":
      return `argv[${origin.index}] ${argvWord(origin.text)}`;
    case "default":
      return "default";
    case "plugin":
      return `plugin ${origin.plugin}`;
    case "image":
      return `image ${origin.ref}`;
  }
}

/** An argument as shown: its name only, since its value may be a secret (`backup_password=…`). */
function argvWord(text: string): string {
  if (text.startsWith("{") || text.startsWith("[")) return "(JSON argument)";
  const equals = text.indexOf("=");
  return equals > 0 ? `'${text.slice(0, equals)}=…'` : `'${text}'`;
}

/** A file as shown in diagnostics: relative to the working directory when inside it. */
export function displayPath(cwd: string, file: string): string {
  const relativePath = relative(cwd, file);
  return relativePath === "" || relativePath.startsWith("..") || isAbsolute(relativePath) ? file : relativePath;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of [...candidates].sort()) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
