// The core phases are functions from one value to the next: validate leaves its input as it was, and
// the report formats the text it is given without reading any file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadSpec } from "../compiler/load/index.js";
import { formatDiagnostic } from "../compiler/report.js";
import { resolveSpec } from "../compiler/resolve/index.js";
import { validateSpec } from "../compiler/validate/index.js";
import { diagnostic } from "../compiler/diagnostics.js";
import { fixtureOptions, readFixture } from "./fixtures.js";

describe("purity", () => {
  it("validate leaves the resolved spec it is given unchanged (plugin env included)", () => {
    const resolved = resolveSpec(loadSpec(fixtureOptions(readFixture("plugins-full"))));
    const snapshot = (): string => JSON.stringify({ vars: resolved.vars, values: [...resolved.values] });
    const before = snapshot();
    const spec = validateSpec(resolved);
    assert.ok(spec.env.some((entry) => entry.key === "DB_ENGINE"), "the fixture's plugins set env");
    assert.equal(snapshot(), before);
    // Validating the same input twice gives the same spec: nothing of the first run leaked into it.
    assert.deepEqual([...validateSpec(resolved).values.keys()], [...spec.values.keys()]);
  });

  it("the report shows the source line it is given, and reads no file", () => {
    const d = diagnostic("invalid-value", { variable: "port", problem: "must be a number", expected: undefined }, {
      origin: { kind: "file", file: "/nonexistent/plc-purity/inventory.yml", line: 3, col: 7 },
    });
    const text = formatDiagnostic(d, { isColor: false }, "port: eighty");
    assert.match(text, /--> \/nonexistent\/plc-purity\/inventory\.yml:3:7/);
    assert.ok(text.endsWith("   3 | port: eighty\n     |       ^"), text);
    assert.doesNotMatch(formatDiagnostic(d, { isColor: false }, "secret_key: hunter2"), /hunter2/, "a secret-looking value stays hidden");
  });
});
