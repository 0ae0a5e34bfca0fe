// Diagnostics are values: a code from the catalogue (messages.ts), its args, where, and the variable.
// Only the report (report.ts, called by cli.ts) turns them into text and an exit code.
import { isAbsolute, relative } from "node:path";
import { exitClassOf, wordingOf, type ArgsOf, type DiagnosticCode } from "./messages.js";
import type { Origin } from "./types.js";

export type { DiagnosticCode } from "./messages.js";

/** One finding: a code of the catalogue (messages.ts), its arguments, where, and the variable concerned. */
export type Diagnostic = {
  [C in DiagnosticCode]: {
    code: C;
    args: ArgsOf<C>;
    origin: Origin | undefined;
    /** The variable concerned, as a dotted path (`env.SECRET_KEY`). */
    variable: string | undefined;
  };
}[DiagnosticCode];

export interface Where {
  origin?: Origin | undefined;
  variable?: string | undefined;
}

export function diagnostic<C extends DiagnosticCode>(code: C, args: ArgsOf<C>, where: Where = {}): Diagnostic {
  return { code, args, origin: where.origin, variable: where.variable } as Diagnostic;
}

/** The words of a diagnostic (its message and hint), made by the catalogue. */
export function textOf(d: Diagnostic): { message: string; hint: string | undefined } {
  return wordingOf(d.code, d.args);
}

/** Thrown by a phase that cannot go on; carries every diagnostic found so far. */
export class PlcError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => textOf(d).message).join("\n"));
    this.name = "PlcError";
    this.diagnostics = diagnostics;
  }
}

export function fail<C extends DiagnosticCode>(code: C, args: ArgsOf<C>, where?: Where): never {
  throw new PlcError([diagnostic(code, args, where)]);
}

export function exitCodeOf(diagnostics: readonly Diagnostic[]): number {
  return diagnostics.some((d) => exitClassOf(d.code) === "input") ? 2 : 1;
}

export function formatOrigin(origin: Origin): string {
  switch (origin.kind) {
    case "file":
      return `${origin.file}:${origin.line}:${origin.col}`;
    case "argv":
      return `argv[${origin.index}] ${origin.text.startsWith("{") || origin.text.startsWith("[") ? shownArgvWord(origin.text) : `'${shownArgvWord(origin.text)}'`}`;
    case "default":
      return "default";
    case "plugin":
      return `plugin ${origin.plugin}`;
    case "image":
      return `image ${origin.ref}`;
  }
}

/** An argument as shown: its name only, since its value may be a secret (`backup_password=…`). */
export function shownArgvWord(text: string): string {
  if (text.startsWith("{") || text.startsWith("[")) return "(JSON argument)";
  const equals = text.indexOf("=");
  return equals > 0 ? `${text.slice(0, equals)}=…` : text;
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
