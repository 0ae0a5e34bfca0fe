// The variables reference (docs/variables.md), generated from the schema so it cannot drift.
import { resolve } from "node:path";
import { readPlugins } from "./load/plugins.js";
import { MESSAGES, type DiagnosticCode, type Entry } from "./messages.js";
import type { PluginDefinition } from "./types.js";
import { readProjectSchema, schemaFor } from "./validate/index.js";

interface Property {
  description?: string;
  type?: string | string[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  items?: Property;
  properties?: Record<string, Property>;
}

function typeOf(property: Property): string {
  const type = Array.isArray(property.type) ? property.type.join(" | ") : (property.type ?? "any");
  if (type === "array" && property.items !== undefined) return `list of ${typeOf(property.items)}`;
  return property.format === undefined ? type : `${type} (${property.format})`;
}

function row(name: string, property: Property): string {
  const constraints = [
    property.pattern === undefined ? "" : `\`${property.pattern.replace(/\|/g, "\\|")}\``,
    property.minimum === undefined ? "" : `≥ ${property.minimum}`,
    property.maximum === undefined ? "" : `≤ ${property.maximum}`,
  ].filter((c) => c !== "").join(", ");
  const fallback = property.default === undefined ? "" : `\`${JSON.stringify(property.default)}\``;
  const description = (property.description ?? "").replace(/\|/g, "\\|");
  return `| \`${name}\` | ${typeOf(property)} | ${fallback} | ${description}${constraints === "" ? "" : ` (${constraints})`} |`;
}

/** Markdown: the project variables, then each plugin's, with types, defaults and constraints. */
export function renderVariablesReference(schema: { properties: Record<string, unknown> }, plugins: readonly PluginDefinition[]): string {
  const lines = [
    "# Variables",
    "",
    "Generated from `schema/project.schema.json` and the plugins' `plugin.yml` by `plc schema --markdown`;",
    "`UPDATE_GOLDEN=1 npm test` rewrites it. Give them as `name=value` on the command line or as",
    "`<prefix>_<instance>_<name>` in an inventory; `env.KEY=value` sets one env key.",
    "",
    "## Project",
    "",
    "| variable | type | default | meaning |",
    "| --- | --- | --- | --- |",
  ];
  for (const [name, property] of Object.entries(schema.properties)) {
    lines.push(row(name, property as Property));
    for (const [child, sub] of Object.entries((property as Property).properties ?? {})) lines.push(row(`${name}.${child}`, sub));
  }
  for (const plugin of [...plugins].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    lines.push("", `## Plugin ${plugin.name}`, "", plugin.description, "");
    const env = Object.keys(plugin.env);
    if (env.length > 0) lines.push(`Sets env: ${env.map((key) => `\`${key}\``).join(", ")}.`, "");
    if (plugin.secretEnv.length > 0) lines.push(`Secret env: ${plugin.secretEnv.map((key) => `\`${key}\``).join(", ")}.`, "");
    const variables = Object.entries(plugin.variables);
    if (variables.length === 0) continue;
    lines.push("| variable | type | default | meaning |", "| --- | --- | --- | --- |");
    for (const [name, property] of variables) lines.push(row(name, property as Property));
  }
  return lines.join("\n") + "\n";
}

/** `plc schema`: the JSON Schema with the built-in plugins' variables, or the markdown reference. */
export function schemaText(cwd: string, isMarkdown: boolean): string {
  const plugins = readPlugins([], cwd);
  if (isMarkdown) return renderVariablesReference(readProjectSchema(), plugins);
  return JSON.stringify(schemaFor(plugins, readProjectSchema()), null, 2) + "\n";
}

/** `plc plugins`: each plugin with its description, order constraints and variables. */
export function pluginsText(pluginsDirs: readonly string[], cwd: string): string {
  let text = "";
  for (const plugin of readPlugins(pluginsDirs.map((dir) => resolve(dir)), cwd)) {
    text += `${plugin.name}: ${plugin.description}\n`;
    if (plugin.shadows !== undefined) text += `  from ${plugin.dir}: shadows the built-in ${plugin.name} plugin\n`;
    const order = [...plugin.requires.map((p) => `requires ${p}`), ...plugin.after.map((p) => `after ${p}`)];
    if (order.length > 0) text += `  order: ${order.join(", ")}\n`;
    for (const [name, fragment] of Object.entries(plugin.variables)) {
      const { description, default: value } = fragment as { description?: string; default?: unknown };
      const shown = value === undefined ? "" : ` (default ${JSON.stringify(value)})`;
      text += `  ${name}${shown}: ${description ?? ""}\n`;
    }
  }
  return text;
}

/** docs/diagnostics.md: every code of the catalogue, its exit status, what it means and its wording. */
export function renderDiagnosticsReference(): string {
  const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");
  const rows = (Object.keys(MESSAGES) as DiagnosticCode[]).map((code) => {
    const entry = MESSAGES[code] as unknown as Entry<unknown>;
    const hint = entry.hint?.(entry.example);
    const wording = `${entry.message(entry.example)}${hint === undefined ? "" : ` — fix: ${hint}`}`;
    const args = Object.keys(entry.example as object).map((name) => `\`${name}\``).join(", ");
    return `| \`${code}\` | ${entry.exit === "input" ? "2" : "1"} | ${cell(entry.summary)} | ${args === "" ? "—" : args} | ${cell(wording)} |`;
  });
  return `# Diagnostics

<!-- Generated from compiler/messages.ts by test/messages.test.ts (UPDATE_GOLDEN=1); do not edit. -->

Every error plc reports has a code from one catalogue (\`compiler/messages.ts\`). Each code has one meaning,
an exit status and arguments; the wording is made from the arguments in that one place. On a terminal
an error reads \`error[code]: message\`, then \`fix: …\` and \`--> where\` (file:line:col, argv[N] or the
variable). With \`--error-format json\` each error is one JSON line on stderr:
\`{"code", "exit", "message", "hint", "args", "origin", "variable"}\`; a secret value is never among the args.

Exit status: 0 done; 2 bad input (nothing written); 1 a failure while doing the job (verify, ship, diff,
prep); 70 an internal error, a bug in plc (it prints a stack trace: please report it).

The wording column shows each message with example arguments.

| Code | Exit | Meaning | Args | Wording (example) |
| --- | --- | --- | --- | --- |
${rows.join("\n")}
`;
}
