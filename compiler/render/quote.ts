// Quoting helpers, one per output context: the only way a value reaches a generated file.
// Templates call these by name, each where its context begins and ends (compiler/render/template-lint.ts).

/** A POSIX sh word: single quotes, with `'` written `'\''`. Safe for any text without NUL. */
export function sh(value: string | number): string {
  const text = String(value);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The inverse of sh() for its own output; undefined for anything sh() would not have written. */
export function unquoteSh(word: string): string | undefined {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  if (!word.startsWith("'") || !word.endsWith("'") || word.length < 2) return undefined;
  const value = word.slice(1, -1).replace(/'\\''/g, "'");
  return sh(value) === word ? value : undefined;
}

/** A shell assignment line `KEY='value'`, the format of the env and secrets files. */
export function shAssign(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`not a shell variable name: ${key}`);
  return `${key}=${sh(value)}`;
}

function unitCheck(text: string): string {
  if (/[\n\r]/.test(text)) throw new Error("a systemd value cannot hold a newline");
  return text;
}

/** A systemd value outside Exec*= lines: `%` is a specifier, so `%%`. */
export function unitValue(value: string | number): string {
  return unitCheck(String(value)).replace(/%/g, "%%");
}

/** One argument of a systemd Exec*= line: `%%`, `$$`, double-quoted with C escapes. */
export function unitExec(value: string): string {
  const text = unitCheck(value).replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(text)) return text;
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** An nginx word. Only validated names and paths reach nginx, so anything else is refused, not escaped. */
export function nginx(value: string | number): string {
  const text = String(value);
  if (!/^[A-Za-z0-9_.:/*@-]+$/.test(text)) throw new Error(`not a safe nginx word: ${JSON.stringify(text)}`);
  return text;
}

/** A path in a logrotate file: logrotate splits on whitespace and reads double quotes. */
export function logrotatePath(value: string): string {
  if (/[\s"'\\]/.test(value)) throw new Error(`a logrotate path cannot hold whitespace or quotes: ${value}`);
  return value;
}

/** A Python string literal (a JSON string is one), for code sent to a container's interpreter. */
export function py(value: string): string {
  return JSON.stringify(value);
}

/** JSON for values that travel to a parser (MANIFEST.json). */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export const QUOTE_HELPERS = { sh, shAssign, unitValue, unitExec, nginx, logrotatePath, py, json };
export type QuoteHelpers = typeof QUOTE_HELPERS;
