#!/usr/bin/env node
// build/bundle/plc.cjs, the `bin`: runs the bundled program from its code cache (code-cache.ts).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileCommonJs, PROGRAM_FILE, runCommonJs } from "./code-cache.js";

runCommonJs(compileCommonJs(join(dirname(fileURLToPath(import.meta.url)), PROGRAM_FILE)));
