// The command line's shared option types and parsers: below every command, so commands import
// them and never each other (no import circle through cli.ts).

/** The options every command that reads a spec takes. */
export interface SpecOptions {
  inventory?: string;
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
