// The project schema, read from schema/project.schema.json: an input every phase may consult (load
// knows the variable names by it, validate checks against it), so it lives below them all.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SCHEMA_DIR } from "./paths.js";
import { reservedEnvPattern } from "./validate/reserved.js";

export interface ProjectSchema {
  properties: Record<string, unknown>;
  [key: string]: unknown;
}

let projectSchemaText: string | undefined;

/** The project schema, a fresh copy each call (callers extend it); the file is read once per process. */
export function readProjectSchema(): ProjectSchema {
  projectSchemaText ??= readFileSync(join(SCHEMA_DIR, "project.schema.json"), "utf8");
  const schema = JSON.parse(projectSchemaText) as ProjectSchema;
  // One list (reserved.ts) is both the rule and what `plc schema` shows.
  const env = schema.properties["env"] as { propertyNames: { not: { pattern: string } } };
  env.propertyNames.not.pattern = reservedEnvPattern();
  return schema;
}
