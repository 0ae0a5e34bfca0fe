// What `plc check` and `plc explain` show: every resolved value, masked when secret, with its origin.
import { pointerOf } from "./resolve/index.js";
import type { Origin, Spec, TemplateSource } from "./types.js";
import { isSecretPointer } from "./validate/index.js";

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
