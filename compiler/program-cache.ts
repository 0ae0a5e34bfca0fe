// How the shipped `plc` starts (build/bundle/plc.cjs): the whole program is one CommonJS file, cli.cjs,
// and the build stores V8's code cache of it beside it (cli.cjs.v8cache, scripts/code-cache.ts). A start
// then reads compiled code instead of compiling 560 KB of JavaScript. V8 refuses a cache written by another
// Node or V8 flags, or for a program text of another length; the program is then compiled as it runs,
// and behaves the same.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";

export const PROGRAM_FILE = "cli.cjs";
export const CODE_CACHE_FILE = `${PROGRAM_FILE}.v8cache`;
/** CommonJS's own wrapper: the program gets the exports, require, module and paths a required file gets. */
export const PROGRAM_WRAPPER_HEAD = "(function (exports, require, module, __filename, __dirname) {";

export interface Program {
  script: Script;
  file: string;
}

/** The program of the bundle folder `dir`, compiled with its code cache when there is one. */
export function compileProgram(dir: string): Program {
  const file = join(dir, PROGRAM_FILE);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(join(dir, CODE_CACHE_FILE));
  } catch {
    cachedData = undefined;
  }
  // ASCII (scripts/build.ts checks it), so read as latin1: a copy, not a UTF-8 decoding. cli.ts's "#!"
  // line becomes a comment of the same length, so positions in the program stay its own.
  const text = readFileSync(file, "latin1").replace(/^#!/, "//");
  const source = `${PROGRAM_WRAPPER_HEAD}${text}\n})`;
  return { script: new Script(source, { filename: file, cachedData }), file };
}

/** Runs the program as Node runs a required file. */
export function runProgram({ script, file }: Program, dir: string): void {
  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dir);
}
