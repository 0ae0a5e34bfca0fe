// The pipeline, one call per phase: load -> resolve -> validate -> render -> pack.
import { loadSpec, type LoadOptions } from "./load/index.js";
import { packBundle, type PackOptions } from "./pack/index.js";
import { renderBundle } from "./render/index.js";
import { shAssign } from "./render/quote.js";
import { resolveSpec } from "./resolve/index.js";
import type { Bundle, PackedBundle, Spec, WrittenSpec } from "./types.js";
import { validateSpec } from "./validate/index.js";

export interface Compiled {
  written: WrittenSpec;
  spec: Spec;
  bundle: Bundle;
  packed: PackedBundle;
}

/** Reads inputs and checks them; what `plc check` and `plc explain` show. */
export function checkSpec(options: LoadOptions): { written: WrittenSpec; spec: Spec } {
  const written = loadSpec(options);
  return { written, spec: validateSpec(resolveSpec(written)) };
}

/** The whole pipeline up to the tarball's bytes. Writes nothing. */
export function compileBundle(options: LoadOptions, pack: PackOptions): Compiled {
  return compileWritten(loadSpec(options), pack);
}

/** The pure part of the pipeline, for callers that load once and build many (one inventory, many instances). */
export function compileWritten(written: WrittenSpec, pack: PackOptions): Compiled {
  const spec = validateSpec(resolveSpec(written));
  const bundle = renderBundle(spec);
  return { written, spec, bundle, packed: packBundle(spec, bundle, pack) };
}

/** The secrets file beside a bundle (or embedded in it): one `KEY='value'` line per secret. */
export function secretsText(bundle: Bundle): string {
  return bundle.secrets.map((secret) => `${shAssign(secret.key, secret.value)}\n`).join("");
}
