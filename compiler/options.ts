// The command line's shared option types and parsers: below every command, so commands import
// them and never each other (no import circle through cli.ts).
import { existsSync } from "node:fs";

/** The options every command that reads a spec takes. */
export interface SpecOptions {
  /** `-i`, repeatable (a single string when a command declares it once). */
  inventory?: string[] | string;
  plugins?: string[];
  pluginsDir?: string[];
  vaultPasswordFile?: string[];
  vaultId?: string[];
  imageArchive?: string;
}

/** Commander option parser for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Commander parser for a repeatable option with no default (absent stays undefined). */
export function collectOptional(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `-i a -i b` and `-i a,b` (when both are paths) as sources in order; `-i web1,web2,` stays a host list. */
export function inventorySources(given: string[] | string | undefined): string[] {
  const list = given === undefined ? [] : typeof given === "string" ? [given] : given;
  return list.flatMap((source) => {
    if (!source.includes(",") || existsSync(source)) return [source];
    const parts = source.split(",").filter((part) => part !== "");
    return parts.length > 0 && parts.every((part) => existsSync(part)) ? parts : [source];
  });
}
