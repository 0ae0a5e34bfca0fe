// build/bundle/plc.cjs, the `bin`: runs the bundled program from its code cache (program-cache.ts).
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { compileProgram, runProgram } from "./program-cache.js";

const dir = dirname(fileURLToPath(import.meta.url));
runProgram(compileProgram(dir), dir);
