// V8 code caches that `npm run build` writes beside the JavaScript they compile: the shipped program
// (build/bundle/cli.cjs, which build/bundle/plc.cjs runs) and each precompiled validator. A start then
// reads compiled code instead of compiling it: 800 KB of program, 80 KB per validator. V8 refuses a cache
// written by another Node or other V8 flags, or for a text of another length; the file is then compiled
// as it runs, and behaves the same.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Script } from "node:vm";

/** The bundled program, in build/bundle/. */
export const PROGRAM_FILE = "cli.cjs";
/** The cache of `x.cjs` is `x.cjs.v8cache`. */
export const CODE_CACHE_SUFFIX = ".v8cache";
/** CommonJS's own wrapper: the file gets the exports, require, module and paths a required file gets. */
export const WRAPPER_HEAD = "(function (exports, require, module, __filename, __dirname) {";

export interface CachedScript {
  script: Script;
  file: string;
}

/**
 * A CommonJS file compiled with its code cache, when there is one. A file with a cache was ASCII when the
 * cache was written (writeCodeCache checks it), so it is read as latin1: a copy, not a UTF-8 decoding.
 * A "#!" line becomes a comment of the same length, so positions in the file stay its own.
 */
export function compileCommonJs(file: string): CachedScript {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(file + CODE_CACHE_SUFFIX);
  } catch {
    cachedData = undefined;
  }
  const text = readFileSync(file, cachedData === undefined ? "utf8" : "latin1").replace(/^#!/, "//");
  return { script: new Script(`${WRAPPER_HEAD}${text}\n})`, { filename: file, cachedData }), file };
}

/** Runs the file as Node runs a required one, and returns its exports. */
export function runCommonJs({ script, file }: CachedScript): unknown {
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/** The build step: the cache of every function the script has compiled so far (so run it first). */
export function writeCodeCache({ script, file }: CachedScript): void {
  if (!/^[\x00-\x7f]*$/.test(readFileSync(file, "latin1"))) throw new Error(`${file} is not ASCII: compileCommonJs reads it as latin1`);
  writeFileSync(file + CODE_CACHE_SUFFIX, script.createCachedData());
}
