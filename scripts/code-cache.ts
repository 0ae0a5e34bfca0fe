// Run by scripts/build.ts in a process of its own: runs the bundled program once, on the bundled example
// (`plc build` of the README's first line), and writes V8's code cache of it as it exits. The cache then
// holds the code of every function that run compiled (load, resolve, validate, render, pack, write), not
// only the program's top level.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CODE_CACHE_FILE, compileProgram, runProgram } from "../compiler/program-cache.js";

const [dir, outDir, ...args] = process.argv.slice(2);
if (dir === undefined || outDir === undefined) throw new Error("usage: code-cache.js BUNDLE_DIR OUT_DIR PLC_ARGS…");
const program = compileProgram(dir);
process.argv = [process.argv[0] ?? "node", join(dir, "plc.cjs"), "build", "-o", outDir, ...args];
process.on("exit", () => {
  writeFileSync(join(dir, CODE_CACHE_FILE), program.script.createCachedData());
});
runProgram(program, dir);
