// What `plc check` and `plc explain` show: every resolved value, masked when secret, with its origin.
import { pointerOf } from "./resolve/index.js";
import type { Origin, PluginDefinition, Spec, TemplateSource } from "./types.js";
import { isSecretPointer } from "./secrecy.js";
import { readProjectSchema, schemaFor } from "./validate/index.js";
import { formatOrigin } from "./diagnostics.js";

export interface ExplainedValue {
  /** Dotted name: `image`, `env.SECRET_KEY`, `retention.daily`. */
  name: string;
  value: unknown;
  origin: Origin;
  overrode: Origin[];
  /** A Jinja template evaluated at build time: what it was written as, and where its inputs came from. */
  template?: TemplateSource | undefined;
}

const MASK = "********";

/** Leaves of the validated spec (defaults included) and the final container env, sorted by name. */
export function explainSpec(spec: Spec): ExplainedValue[] {
  const result: ExplainedValue[] = [];
  const visit = (path: string[], value: unknown): void => {
    if (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) visit([...path, key], child);
      return;
    }
    result.push(describe(spec, path, value));
  };
  for (const [key, value] of Object.entries(spec.vars)) if (key !== "env") visit([key], value);
  for (const entry of spec.env) result.push(describe(spec, ["env", entry.key], entry.value));
  return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function describe(spec: Spec, path: string[], value: unknown): ExplainedValue {
  const pointer = pointerOf(path);
  const resolved = spec.values.get(pointer) ?? ancestorValue(spec, pointer);
  const isEmpty = value === undefined || (Array.isArray(value) && value.length === 0);
  const plugin = spec.plugins.find((p) => path[0] !== undefined && path[0] in p.variables);
  const fallback: Origin = plugin === undefined ? { kind: "default" } : { kind: "plugin", plugin: plugin.name };
  return {
    name: path.join("."),
    value: isSecretPointer(spec, pointer) && !isEmpty ? MASK : value,
    origin: resolved?.origin ?? fallback,
    overrode: resolved?.overrode ?? [],
    ...(resolved?.template === undefined ? {} : { template: resolved.template }),
  };
}

function ancestorValue(spec: Spec, pointer: string) {
  for (let candidate = pointer; candidate.includes("/"); candidate = candidate.slice(0, candidate.lastIndexOf("/"))) {
    const found = spec.values.get(candidate);
    if (found) return found;
  }
  return undefined;
}

/** `plc check`'s output: the name, plugins and every resolved value (masked), as JSON. */
export function checkSummary(spec: Spec): string {
  const summary = {
    name: spec.name,
    plugins: spec.plugins.map((plugin) => plugin.name),
    values: Object.fromEntries(explainSpec(spec).map((value) => [value.name, value.value])),
  };
  return JSON.stringify(summary, null, 2) + "\n";
}

/** `plc explain`'s operands: bare variable names (image, env.KEY) narrow the output; the rest build the spec. */
export function splitNames(operands: readonly string[], plugins: readonly PluginDefinition[] = []): { names: string[]; words: string[] } {
  // Plugin variables narrow too (explain … uwsgi_spooler_mount).
  const known = new Set(Object.keys(schemaFor(plugins, readProjectSchema()).properties));
  const isName = (word: string): boolean => /^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_]+)*$/.test(word) && known.has(word.split(".")[0] ?? "");
  return { names: operands.filter(isName), words: operands.filter((word) => !isName(word)) };
}

/** `plc explain`'s output: one line per value, `name = value  <- origin (overrode …)`. */
export function explainText(spec: Spec, names: readonly string[]): string {
  let text = "";
  for (const value of explainSpec(spec)) {
    if (names.length > 0 && !names.some((name) => value.name === name || value.name.startsWith(`${name}.`))) continue;
    const overrode = value.overrode.length === 0 ? "" : ` (overrode ${value.overrode.map(formatOrigin).join(", ")})`;
    text += `${value.name} = ${JSON.stringify(value.value)}  <- ${formatOrigin(value.origin)}${overrode}\n`;
    if (value.template !== undefined) {
      const inputs = value.template.inputs.map((input) => `${input.name} <- ${formatOrigin(input.origin)}`).join(", ");
      text += `    = ${value.template.expression}${inputs === "" ? "" : `  (${inputs})`}\n`;
    }
  }
  return text;
}
