// Validators compiled ahead of time: `npm run build` writes ajv's standalone code for plc's own schemas
// (compiling one costs a run ~40 ms); a schema it did not see (an external plugin's) is compiled here, once.
// Below the phases, like schema.ts: load checks plugin.yml with one, validate the spec with another.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Ajv as AjvClass, Options, ValidateFunction } from "ajv";
import { PRECOMPILED_DIR } from "./paths.js";
import { requirePrecompiled } from "./precompiled-files.js";

/** Formats plc adds to ajv, by name. */
export type Formats = Record<string, (text: string) => boolean>;

/** ajv loads only when a schema was not compiled ahead of time: importing it costs a run ~10 ms. */
const require = createRequire(import.meta.url);

/** The name a schema's validator has among the precompiled files: a digest of the schema and the options. */
export function validatorKey(schema: object, options: Options, formats: Formats): string {
  return createHash("sha256")
    .update(JSON.stringify({ schema, options, formats: Object.keys(formats).sort() }))
    .digest("hex")
    .slice(0, 32);
}

export function validatorFile(key: string): string {
  return join(PRECOMPILED_DIR, "validate", `${key}.cjs`);
}

/** A new ajv with plc's formats; `code` options make it emit standalone code (the build step). */
export function newAjv(options: Options, formats: Formats): AjvClass {
  const { Ajv } = require("ajv") as { Ajv: typeof AjvClass };
  const ajv = new Ajv(options);
  for (const [name, check] of Object.entries(formats)) ajv.addFormat(name, check);
  return ajv;
}

/** The precompiled validator of the schema when the build wrote one, else one compiled now. */
export function loadValidator(schema: object, options: Options, formats: Formats): ValidateFunction {
  const file = validatorFile(validatorKey(schema, options, formats));
  if (existsSync(file)) {
    const factory = requirePrecompiled(file) as (formats: Formats) => ValidateFunction;
    return factory(formats);
  }
  return newAjv(options, formats).compile(schema);
}
