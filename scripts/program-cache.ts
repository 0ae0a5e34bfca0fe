// Run by scripts/build.ts in a process of its own: runs the bundled program once, on the bundled example
// (`plc build` of the README's first line, with every built-in plugin), and writes V8's code cache of it as
// it exits. The cache then holds every function that run compiled (load, resolve, validate, render, pack,
// write), not only the program's top level.
import { join } from "node:path";
import { compileCommonJs, PROGRAM_FILE, runCommonJs, writeCodeCache } from "../compiler/code-cache.js";

const [dir, outDir, ...args] = process.argv.slice(2);
if (dir === undefined || outDir === undefined) throw new Error("usage: program-cache.js BUNDLE_DIR OUT_DIR PLC_BUILD_ARGS…");
const program = compileCommonJs(join(dir, PROGRAM_FILE));
process.argv = [process.argv[0] ?? "node", join(dir, "plc.cjs"), "build", "-o", outDir, ...args];
process.on("exit", () => {
  writeCodeCache(program);
});
runCommonJs(program);
