// plc's own templates (compiler/render/templates/, the built-in plugins' hooks), compiled to functions by
// `npm run build` (scripts/build.ts): render then reads no template file and compiles none as it runs.
// The functions are EJS's own output for the options render uses; an external plugin's template, or a
// build without this step, goes through EJS as it runs.
import { existsSync } from "node:fs";
import { dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { PACKAGE_ROOT, PRECOMPILED_DIR } from "../paths.js";
import { requirePrecompiled } from "../precompiled-files.js";

/** The escape EJS applies to `<%=` output (render's refuses it). */
export type Escape = (value: unknown) => string;

/** A template's body as EJS generates it, with the locals, escape, include and the line-aware rethrow it calls. */
export type TemplateBody = (
  locals: object,
  escapeFn: Escape,
  include: (path: string, data?: Record<string, unknown>) => string,
  rethrow: (error: unknown, line: number) => never,
) => string;

export interface CompiledTemplate {
  /** The template's text as EJS compiled it: the excerpt of an error message. */
  text: string;
  render: TemplateBody;
}

/** The file scripts/build.ts writes: CommonJS, so it loads synchronously beside the bundle. */
export const COMPILED_TEMPLATES_FILE = join(PRECOMPILED_DIR, "templates.cjs");

/** The folders whose templates the build compiles, relative to the package root. */
export const COMPILED_TEMPLATE_DIRS = ["compiler/render/templates", "plugins"];

let table: Record<string, CompiledTemplate> | undefined;

function compiledTemplates(): Record<string, CompiledTemplate> {
  if (table === undefined) {
    table = existsSync(COMPILED_TEMPLATES_FILE) ? (requirePrecompiled(COMPILED_TEMPLATES_FILE) as Record<string, CompiledTemplate>) : {};
  }
  return table;
}

const keys = new Map<string, string>();

/** A template's key among the compiled ones: its path from the package root (kept: a bundle renders a hundred). */
export function templateKey(file: string): string {
  let key = keys.get(file);
  if (key === undefined) {
    key = relative(PACKAGE_ROOT, file).split("\\").join("/");
    keys.set(file, key);
  }
  return key;
}

/** Whether the build compiled this file (plc's own templates; not an external plugin's). */
export function isCompiled(file: string): boolean {
  return Object.hasOwn(compiledTemplates(), templateKey(file));
}

/**
 * Renders a compiled template as `ejs.render` would: `include()` resolved beside the file (`.ejs` added
 * when it has no extension), an error raised while rendering prefixed with `<file>:<line>` and an
 * excerpt, once per include level. The data is not copied as EJS copies it (twice per include): the
 * templates read only the names render lists (LOCALS), never the data object itself.
 */
export function renderCompiled(file: string, data: object, escape: Escape): string {
  const compiled = compiledTemplates()[templateKey(file)];
  if (compiled === undefined) throw new Error(`Could not find the include file "${file}"`);
  const include = (path: string, includeData?: Record<string, unknown>): string =>
    renderCompiled(includedFile(file, path), includeData === undefined ? data : { ...data, ...includeData }, escape);
  return compiled.render(data, escape, include, (error, line) => rethrow(error, compiled.text, file, line));
}

/** Included files by including file and path: install.sh includes a dozen partials per bundle. */
const included = new Map<string, Map<string, string>>();

/** `include(path)` of a template: beside it, `.ejs` added when the path has no extension. */
function includedFile(file: string, path: string): string {
  // A relative file resolves against the working directory: not kept.
  if (!isAbsolute(file)) return withExtension(resolve(dirname(file), path));
  let paths = included.get(file);
  if (paths === undefined) included.set(file, (paths = new Map<string, string>()));
  let target = paths.get(path);
  if (target === undefined) {
    target = withExtension(resolve(dirname(file), path));
    paths.set(path, target);
  }
  return target;
}

function withExtension(file: string): string {
  return extname(file) === "" ? `${file}.ejs` : file;
}

/** EJS's message for an error raised at a template line: `<file>:<line>`, three lines either side, the message. */
function rethrow(error: unknown, text: string, file: string, line: number): never {
  const lines = text.split("\n");
  const start = Math.max(line - 3, 0);
  const end = Math.min(lines.length, line + 3);
  const excerpt = lines
    .slice(start, end)
    .map((content, index) => `${start + index + 1 === line ? " >> " : "    "}${String(start + index + 1)}| ${content}`)
    .join("\n");
  const raised = error instanceof Error ? error : new Error(String(error));
  raised.message = `${file}:${String(line)}\n${excerpt}\n\n${raised.message}`;
  throw raised;
}
