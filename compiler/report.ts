// The one place diagnostics become text: a code, a location, the offending line with a caret, a hint.
import { existsSync, readFileSync } from "node:fs";
import { formatOrigin, type Diagnostic } from "./diagnostics.js";

export interface ReportStyle {
  isColor: boolean;
}

const paint = (style: ReportStyle, code: string, text: string): string =>
  style.isColor ? `\u001b[${code}m${text}\u001b[0m` : text;

/** Formats one diagnostic; reads the source line of a file location to show it. */
export function formatDiagnostic(d: Diagnostic, style: ReportStyle): string {
  const lines = [`${paint(style, "1;31", "error")}[${d.code}]: ${d.message}`];
  if (d.origin) {
    lines.push(`  --> ${formatOrigin(d.origin)}`);
    if (d.origin.kind === "file" && existsSync(d.origin.file)) {
      const source = readFileSync(d.origin.file, "utf8").split("\n")[d.origin.line - 1];
      if (source !== undefined && !source.includes("$ANSIBLE_VAULT")) {
        const gutter = String(d.origin.line);
        lines.push(`   ${gutter} | ${source}`);
        lines.push(`   ${" ".repeat(gutter.length)} | ${" ".repeat(Math.max(0, d.origin.col - 1))}^`);
      }
    }
  }
  if (!d.origin && d.variable !== undefined) lines.push(`  --> ${d.variable}`);
  if (d.hint !== undefined) lines.push(`  ${paint(style, "1;36", "hint")}: ${d.hint}`);
  return lines.join("\n");
}
