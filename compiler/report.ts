// The one place diagnostics become text: a code, a location, the offending line with a caret, a hint.
import { closeSync, fstatSync, openSync, readSync, constants } from "node:fs";
import { formatOrigin, type Diagnostic } from "./diagnostics.js";
import { MAX_FILE_BYTES } from "./load/inventory.js";

export interface ReportStyle {
  isColor: boolean;
}

const paint = (style: ReportStyle, code: string, text: string): string =>
  style.isColor ? `\u001b[${code}m${text}\u001b[0m` : text;

/** Formats one diagnostic; reads the source line of a file location to show it. */
// CI logs keep what errors print: a plain-text secret in an inventory line is not shown.
const SECRET_KEY = /^(\s*-?\s*[\w.-]*(?:pass|pasw|pwd|secret|token|dsn|key)[\w.-]*\s*:)\s*\S.*$/i;

function withoutSecretValue(line: string): string {
  return line.replace(SECRET_KEY, "$1 …");
}

/** The line a diagnostic points at, if the file is a readable regular file of sane size (it may be neither). */
function sourceLine(file: string, line: number): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return undefined;
    const buffer = Buffer.alloc(stat.size);
    let length = 0;
    for (let count = -1; count !== 0 && length < buffer.length; length += count) count = readSync(fd, buffer, length, buffer.length - length, null);
    return buffer.subarray(0, length).toString("utf8").split("\n")[line - 1];
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function formatDiagnostic(d: Diagnostic, style: ReportStyle): string {
  // What is wrong, then what to do, then where: the fix is read before the code frame.
  const lines = [`${paint(style, "1;31", "error")}[${d.code}]: ${d.message}`];
  if (d.hint !== undefined) lines.push(`  ${paint(style, "1;36", "fix")}: ${d.hint}`);
  if (d.origin) {
    lines.push(`  --> ${formatOrigin(d.origin)}`);
    if (d.origin.kind === "file") {
      const source = sourceLine(d.origin.file, d.origin.line);
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
