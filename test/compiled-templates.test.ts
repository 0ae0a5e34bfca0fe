// plc's own templates, compiled to functions by npm run build (render/compiled-templates.ts): render
// reads no template file, compiles none, and what a compiled template gives (output or error) is what
// EJS gives for the same file, options and data.
import assert from "node:assert/strict";
import fs, { readFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import ejs from "ejs";
import { checkSpec } from "../compiler/index.js";
import { PACKAGE_ROOT } from "../compiler/paths.js";
import { COMPILED_TEMPLATE_DIRS, isCompiled, renderCompiled } from "../compiler/render/compiled-templates.js";
import { renderBundle, RENDER_EJS_OPTIONS } from "../compiler/render/index.js";
import { fixtureNames, fixtureOptions, readFixture } from "./fixtures.js";

function templatesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? templatesUnder(join(dir, entry.name)) : entry.name.endsWith(".ejs") ? [join(dir, entry.name)] : [],
  );
}

const OWN = COMPILED_TEMPLATE_DIRS.flatMap((dir) => templatesUnder(join(PACKAGE_ROOT, dir))).filter((file) => !file.includes("/templates/prep/"));

/** The file paths readFileSync is asked for while `run` runs. */
function filesRead(run: () => void): string[] {
  const original = fs.readFileSync;
  const read: string[] = [];
  fs.readFileSync = ((path: fs.PathOrFileDescriptor, options?: unknown) => {
    read.push(String(path));
    return (original as (p: fs.PathOrFileDescriptor, o?: unknown) => string | Buffer)(path, options);
  }) as typeof fs.readFileSync;
  syncBuiltinESMExports();
  try {
    run();
  } finally {
    fs.readFileSync = original;
    syncBuiltinESMExports();
  }
  return read;
}

describe("compiled templates", () => {
  it("exist for every template of plc's and of its built-in plugins", () => {
    assert.ok(OWN.length > 40, `only ${OWN.length} templates found`);
    for (const file of OWN) assert.ok(isCompiled(file), `${file} was not compiled by npm run build`);
  });

  it("make render read no file: each fixture's bundle is rendered from the spec alone", () => {
    let rendered = 0;
    for (const name of fixtureNames()) {
      let spec;
      try {
        spec = checkSpec(fixtureOptions(readFixture(name))).spec;
      } catch {
        continue; // a fixture of bad input stops before render
      }
      const read = filesRead(() => {
        try {
          renderBundle(spec);
        } catch {
          // a fixture whose render fails still must not read
        }
      });
      // An external plugin's template is read by load, never by render (EJS itself is loaded for it).
      const templates = read.filter((path) => !path.includes("/node_modules/"));
      assert.deepEqual(templates, [], `${name}: render read ${templates.join(", ")}`);
      rendered++;
    }
    assert.ok(rendered >= 15, `rendered only ${rendered}`);
  });

  it("fail as EJS fails: the same message, file and line, for each template given data it cannot render", () => {
    const escape = (value: unknown): string => {
      throw new Error(`escape ${String(value)}`);
    };
    for (const file of OWN) {
      // No spec: the first line reading it throws, in the template or one it includes.
      const data = { sh: (value: unknown) => String(value), spec: undefined };
      const viaEjs = (): string =>
        ejs.render(readFileSync(file, "utf8"), data, { ...RENDER_EJS_OPTIONS, destructuredLocals: [...RENDER_EJS_OPTIONS.destructuredLocals], filename: file, escape: (value: unknown) => (value === file || String(value).endsWith(".ejs") ? String(value) : escape(value)) } as ejs.Options & { async: false });
      let expected: string | undefined;
      let output: string | undefined;
      try {
        output = viaEjs();
      } catch (error) {
        expected = (error as Error).message;
      }
      if (expected === undefined) {
        assert.equal(renderCompiled(file, data, escape), output, file);
        continue;
      }
      assert.throws(() => renderCompiled(file, data, escape), (error: Error) => {
        assert.equal(error.message, expected, file);
        return true;
      });
    }
  });
});
