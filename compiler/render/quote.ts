// Quoting helpers, one per output context: the only way a value reaches a generated file.
// Templates call these by name, each where its context begins and ends (compiler/render/template-lint.ts).

/**
 * The text of a value: templates are JavaScript, so a mistyped field reaches a helper as undefined
 * (or an object) and would print "undefined" into a config. Only strings and finite numbers pass.
 */
function textOf(value: unknown, helper: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new Error(`${helper}() takes a string or a number, not ${value === null ? "null" : typeof value}`);
}

/** A POSIX sh word: single quotes, with `'` written `'\''`. Safe for any text without NUL. */
export function sh(value: string | number): string {
  const text = textOf(value, "sh");
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
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(textOf(key, "shAssign"))) throw new Error(`not a shell variable name: ${key}`);
  return `${key}=${sh(value)}`;
}

function unitCheck(text: string): string {
  if (/[\n\r]/.test(text)) throw new Error("a systemd value cannot hold a newline");
  return text;
}

/** A systemd value outside Exec*= lines: `%` is a specifier, so `%%`. */
export function unitValue(value: string | number): string {
  return unitCheck(textOf(value, "unitValue")).replace(/%/g, "%%");
}

/** One argument of a systemd Exec*= line: `%%`, `$$`, double-quoted with C escapes. */
export function unitExec(value: string): string {
  const text = unitCheck(textOf(value, "unitExec")).replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(text)) return text;
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** An nginx word. Only validated names and paths reach nginx, so anything else is refused, not escaped. */
export function nginx(value: string | number): string {
  const text = textOf(value, "nginx");
  if (!/^[A-Za-z0-9_.:/*@-]+$/.test(text)) throw new Error(`not a safe nginx word: ${JSON.stringify(text)}`);
  return text;
}

/** A path in a logrotate file: logrotate splits on whitespace and reads double quotes. */
export function logrotatePath(value: string): string {
  if (/[\s"'\\]/.test(textOf(value, "logrotatePath"))) throw new Error(`a logrotate path cannot hold whitespace or quotes: ${value}`);
  return value;
}

/** A Python string literal (a JSON string is one), for code sent to a container's interpreter. */
export function py(value: string): string {
  return JSON.stringify(textOf(value, "py"));
}

/** JSON for values that travel to a parser (MANIFEST.json). */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export const QUOTE_HELPERS = { sh, shAssign, unitValue, unitExec, nginx, logrotatePath, py, json };
export type QuoteHelpers = typeof QUOTE_HELPERS;
