// Values reach output only through a quoting helper: no `<%=`, and every `<%-` calls a helper or include().
import assert from "node:assert/strict";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { QUOTE_HELPERS } from "../compiler/render/quote.js";
import { ROOT } from "./fixtures.js";

const HELPER_CALL = new RegExp(`^\\s*(?:include\\(|(?:${Object.keys(QUOTE_HELPERS).join("|")})\\(|[A-Za-z_.()\\[\\]0-9]+\\.map\\((?:${Object.keys(QUOTE_HELPERS).join("|")})\\)\\.join\\()`);

function templates(): string[] {
  const dirs = [join(ROOT, "compiler", "render", "templates")];
  const plugins = join(ROOT, "plugins");
  if (existsSync(plugins)) for (const name of readdirSync(plugins)) dirs.push(join(plugins, name));
  return dirs.flatMap((dir) =>
    existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith(".ejs")).map((file) => join(dir, file)) : [],
  );
}

it("every template prints values only through a quoting helper", () => {
  const files = templates();
  assert.ok(files.length > 10);
  const offences: string[] = [];
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    if (source.includes("<%=")) offences.push(`${file}: uses <%= (HTML escaping is not quoting)`);
    for (const match of source.matchAll(/<%-([\s\S]*?)-?%>/g)) {
      const expression = match[1] ?? "";
      if (!HELPER_CALL.test(expression)) offences.push(`${file}: raw value <%-${expression}%>`);
    }
  }
  assert.deepEqual(offences, []);
});

it("the check itself catches a raw value", () => {
  assert.equal(HELPER_CALL.test(" spec.image "), false);
  assert.equal(HELPER_CALL.test(" sh(spec.image) "), true);
  assert.equal(HELPER_CALL.test(" requiredTools.map(sh).join(\" \") "), true);
});

it("no template turns on shell tracing, which would print secrets after expansion", () => {
  const offences = templates().filter((file) => /^\s*set\s+(-[a-wyz]*x|-o\s+xtrace|-[a-uw-z]*v\b)/m.test(readFileSync(file, "utf8")));
  assert.deepEqual(offences, []);
});
