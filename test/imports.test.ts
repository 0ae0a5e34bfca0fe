// The compiler's modules form no import circle (type-only imports included): phases and commands
// read one way, from the command line down to the phases.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "./fixtures.js";

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** A module's relative imports (`import … from "./x.js"`, `export … from`), as source paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)\.js"/gms)) {
    found.push(resolve(dirname(file), `${match[1] ?? ""}.ts`));
  }
  return found;
}

/** The first circle found by a depth-first walk, as a list of modules, or undefined. */
export function findCircle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const circle = visit(next);
      if (circle !== undefined) return circle;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const circle = visit(node);
    if (circle !== undefined) return circle;
  }
  return undefined;
}

describe("imports", () => {
  it("compiler/ has no import circle", () => {
    const graph = new Map(sources(join(ROOT, "compiler")).map((file) => [file, importsOf(file)]));
    const circle = findCircle(graph);
    assert.equal(circle?.map((file) => relative(ROOT, file)).join(" -> "), undefined);
  });

  it("the walk finds a circle when there is one, type-only imports included", () => {
    const graph = new Map([
      ["cli.ts", ["ship/command.ts"]],
      ["ship/command.ts", ["options.ts", "cli.ts"]],
      ["options.ts", []],
    ]);
    assert.deepEqual(findCircle(graph), ["cli.ts", "ship/command.ts", "cli.ts"]);
    const text = 'import type { SpecOptions } from "../cli.js";';
    assert.ok(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)\.js"/ms.test(text));
  });
});
