// docs/variables.md is generated from the schemas; a stale copy fails (UPDATE_GOLDEN=1 rewrites it).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { readPlugins } from "../compiler/load/plugins.js";
import { renderVariablesReference } from "../compiler/reference.js";
import { readProjectSchema } from "../compiler/validate/index.js";
import { ROOT } from "./fixtures.js";

it("docs/variables.md matches the schema and the built-in plugins", () => {
  const file = join(ROOT, "docs", "variables.md");
  const expected = renderVariablesReference(readProjectSchema(), readPlugins([], ROOT));
  if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(file, expected);
  assert.equal(readFileSync(file, "utf8"), expected, "docs/variables.md is stale: UPDATE_GOLDEN=1 npm test (or plc schema --markdown > docs/variables.md)");
  for (const name of Object.keys(readProjectSchema().properties)) assert.ok(expected.includes(`| \`${name}\` |`), name);
  assert.ok(expected.includes("## Plugin postgres"));
});
