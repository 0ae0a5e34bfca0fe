// Where plc's own data lives, relative to the compiled module (build/compiler/paths.js).
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BUILTIN_PLUGINS_DIR = join(PACKAGE_ROOT, "plugins");
export const TEMPLATES_DIR = join(PACKAGE_ROOT, "compiler", "render", "templates");
export const SCHEMA_DIR = join(PACKAGE_ROOT, "schema");
/** What `npm run build` compiles ahead of time (validators, templates); absent, plc compiles them as it runs. */
export const PRECOMPILED_DIR = join(PACKAGE_ROOT, "build", "precompiled");
