// Properties of resolve's core: precedence (argv > host_vars > group_vars > plugin default > default)
// over random layers, and plugin order over random dependency graphs (every constraint holds, an
// order that already satisfies them is kept, a cycle is refused).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkSpec } from "../compiler/index.js";
import { PlcError } from "../compiler/diagnostics.js";
import { explainSpec } from "../compiler/explain.js";
import { readPlugins } from "../compiler/load/plugins.js";
import { orderPlugins } from "../compiler/resolve/index.js";
import type { PluginDefinition } from "../compiler/types.js";
import { ROOT } from "./fixtures.js";

const POSTGRES_DEFAULT = (() => {
  const postgres = readPlugins([], ROOT).find((plugin) => plugin.name === "postgres");
  return (postgres?.variables["postgres_image"] as { default?: string } | undefined)?.default;
})();

describe("resolve properties", () => {
  it("a value comes from the highest layer that sets it: argv, host_vars, group_vars, plugin default, default", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-precedence-"));
    try {
      const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
      const image = fc.option(fc.constantFrom("postgres:14", "postgres:15", "postgres:16"), { nil: undefined });
      let run = 0;
      fc.assert(
        fc.property(fc.record({ argv: port, host: port, group: port }), fc.record({ argv: image, host: image, group: image }), (ports, images) => {
          const inventory = join(dir, String(run++));
          mkdirSync(join(inventory, "group_vars"), { recursive: true });
          mkdirSync(join(inventory, "host_vars"), { recursive: true });
          writeFileSync(join(inventory, "inventory.yml"), "all:\n  children:\n    ybs-hack:\n      hosts:\n        web1:\n");
          const layer = (p: number | undefined, i: string | undefined): string =>
            `ybs_hack_image: app:1\n${p === undefined ? "" : `ybs_hack_port: ${p}\n`}${i === undefined ? "" : `ybs_hack_postgres_image: ${i}\n`}`;
          writeFileSync(join(inventory, "group_vars", "ybs-hack.yml"), layer(ports.group, images.group));
          writeFileSync(join(inventory, "host_vars", "web1.yml"), layer(ports.host, images.host).replace("ybs_hack_image: app:1\n", ""));
          const words = ["prefix=ybs", "instance=hack", "@web1", ...(ports.argv === undefined ? [] : [`port=${ports.argv}`]), ...(images.argv === undefined ? [] : [`postgres_image=${images.argv}`])];
          const { spec } = checkSpec({
            words: words.map((text, index) => ({ text, index: index + 1 })),
            plugins: [{ text: "postgres", index: words.length + 2 }],
            inventoryDir: inventory,
            vaultPasswordFiles: [],
            pluginsDirs: [],
            imageArchive: undefined,
            cwd: dir,
          });
          const values = new Map(explainSpec(spec).map((value) => [value.name, value.value]));
          assert.equal(values.get("port"), ports.argv ?? ports.host ?? ports.group ?? 8000);
          assert.equal(values.get("postgres_image"), images.argv ?? images.host ?? images.group ?? POSTGRES_DEFAULT);
        }),
        { numRuns: 40 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A plugin as orderPlugins reads one. */
  const plugin = (name: string, after: string[], requires: string[] = []): PluginDefinition =>
    ({ name, after, requires }) as unknown as PluginDefinition;
  const given = (names: readonly string[]) => ({ value: names.join(","), origin: { kind: "default" as const }, overrode: [], isSecret: false });

  /** n plugins p0…p(n-1); each may follow any lower-numbered one (a DAG), the given order shuffled. */
  const graphs = fc.integer({ min: 1, max: 9 }).chain((n) =>
    fc.record({
      edges: fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
      order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    }),
  );

  it("plugin order: every after/requires holds; an order that satisfies them is kept; a cycle is refused", () => {
    fc.assert(
      fc.property(graphs, fc.boolean(), ({ edges, order }, isRequires) => {
        const n = order.length;
        const follows = (i: number): string[] => [...Array(i).keys()].filter((j) => edges[i]?.[j] === true).map((j) => `p${j}`);
        const plugins = [...Array(n).keys()].map((i) => (isRequires ? plugin(`p${i}`, [], follows(i)) : plugin(`p${i}`, follows(i))));
        const names = order.map((i) => `p${i}`);
        const placed = orderPlugins(given(names), plugins).plugins.map((p) => p.name);
        assert.deepEqual([...placed].sort(), [...names].sort(), "each plugin once");
        for (let i = 0; i < n; i++) for (const before of follows(i)) assert.ok(placed.indexOf(before) < placed.indexOf(`p${i}`), `${before} before p${i}`);
        // Already in a valid order (by number): kept as given.
        const sorted = [...Array(n).keys()].map((i) => `p${i}`);
        assert.deepEqual(orderPlugins(given(sorted), plugins).plugins.map((p) => p.name), sorted);
        // A back edge from the first plugin to one that (transitively) follows it is a cycle.
        const last = n - 1;
        if (last > 0 && follows(last).length > 0) {
          const cyclic = plugins.map((p, i) => (i === 0 ? plugin("p0", [`p${last}`]) : p));
          const chain = (i: number, seen = new Set<number>()): boolean => i === 0 || follows(i).some((name) => !seen.has(i) && chain(Number(name.slice(1)), seen.add(i)));
          if (chain(last)) {
            assert.throws(() => orderPlugins(given(names), cyclic), (error: unknown) => error instanceof PlcError && error.diagnostics.some((d) => d.code === "plugin-cycle"));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
