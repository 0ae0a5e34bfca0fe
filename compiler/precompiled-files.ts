// Reads a file `npm run build` compiled ahead of time (build/precompiled/: the templates, the validators).
// Unbundled, it is required from disk. The shipped bundle replaces this module with one that holds every
// such file itself (scripts/build.ts), so their code is in the bundle's code cache too.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** The exports of a precompiled CommonJS file, by its absolute path. */
export function requirePrecompiled(file: string): unknown {
  return require(file);
}
