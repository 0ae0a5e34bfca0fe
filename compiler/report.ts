// The one place diagnostics become text: a code, a location, the offending line with a caret, a hint.
import { exitCodeOf, formatOrigin, shownArgvWord, textOf, type Diagnostic } from "./diagnostics.js";
import type { Origin } from "./types.js";

export interface ReportStyle {
  isColor: boolean;
}

const paint = (style: ReportStyle, code: string, text: string): string =>
  style.isColor ? `\u001b[${code}m${text}\u001b[0m` : text;

// CI logs keep what errors print: a plain-text secret in an inventory line is not shown.
const SECRET_KEY = /^(\s*-?\s*[\w.-]*(?:pass|pasw|pwd|secret|token|dsn|key)[\w.-]*\s*:)\s*\S.*$/i;

function withoutSecretValue(line: string): string {
  return line.replace(SECRET_KEY, "$1 …");
}

/**
 * Formats one diagnostic. `source` is the text of the line a file location points at, read by the
 * caller at the edge (the report reads nothing itself); a vault line or a secret-looking value is not shown.
 */
export function formatDiagnostic(d: Diagnostic, style: ReportStyle, source?: string): string {
  // What is wrong, then what to do, then where: the fix is read before the code frame.
  const { message, hint } = textOf(d);
  const lines = [`${paint(style, "1;31", "error")}[${d.code}]: ${message}`];
  if (hint !== undefined) lines.push(`  ${paint(style, "1;36", "fix")}: ${hint}`);
  if (d.origin) {
    lines.push(`  --> ${formatOrigin(d.origin)}`);
    if (d.origin.kind === "file") {
      if (source !== undefined && !source.includes("$ANSIBLE_VAULT")) {
        const gutter = String(d.origin.line);
        lines.push(`   ${gutter} | ${withoutSecretValue(source)}`);
        lines.push(`   ${" ".repeat(gutter.length)} | ${" ".repeat(Math.max(0, d.origin.col - 1))}^`);
      }
    }
  } else if (d.variable !== undefined) {
    lines.push(`  --> ${d.variable}`);
  }
  return lines.join("\n");
}

/**
 * One diagnostic as a JSON line (`--error-format json`): its code, exit status, words, args and where.
 * An argv origin carries the argument's name only, as the text form shows it: its value may be a secret.
 */
export function formatDiagnosticJson(d: Diagnostic): string {
  const { message, hint } = textOf(d);
  const origin: Origin | undefined = d.origin?.kind === "argv" ? { ...d.origin, text: shownArgvWord(d.origin.text) } : d.origin;
  return JSON.stringify({ code: d.code, exit: exitCodeOf([d]), message, hint: hint ?? null, args: d.args, origin: origin ?? null, variable: d.variable ?? null });
}
