// Reads a file `npm run build` compiled ahead of time (build/precompiled/: the templates, the validators),
// with its code cache when the build wrote one (code-cache.ts). The shipped bundle replaces this module
// with one that holds templates.cjs itself (scripts/build.ts), so the templates are in the program's cache.
import { compileCommonJs, runCommonJs } from "./code-cache.js";

/** The exports of a precompiled CommonJS file, by its absolute path. */
export function requirePrecompiled(file: string): unknown {
  return runCommonJs(compileCommonJs(file));
}
