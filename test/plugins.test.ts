// Plugin order, the contract of plugin.yml, and what `plc plugins` / `plc check` say about them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Ajv } from "ajv";
import { PlcError } from "../compiler/diagnostics.js";
import { readPlugins } from "../compiler/load/plugins.js";
import { readProjectSchema, schemaFor } from "../compiler/validate/index.js";
import { readImageEnv } from "../compiler/load/image.js";
import { orderPlugins } from "../compiler/resolve/index.js";
import type { PluginDefinition, ResolvedValue } from "../compiler/types.js";
import { CLI, FIXTURES, ROOT } from "./fixtures.js";

function plugin(name: string, after: string[] = [], requires: string[] = []): PluginDefinition {
  return {
    name, description: name, dir: name, after, requires, variables: {}, env: {}, secretEnv: [], hostTools: [], mounts: [], data: [],
    required: [], secretVariables: [], globals: [], imageEnv: {}, hostSecrets: [], secretsTemplate: undefined,
    hooks: new Map(), manifestFile: `${name}/plugin.yml`, raw: {},
  };
}

const given = (names: string[]): ResolvedValue => ({ value: names, origin: { kind: "argv", index: 1, text: "-p" }, overrode: [], isSecret: false });
const names = (plugins: PluginDefinition[]): string[] => plugins.map((p) => p.name);

describe("plugin order", () => {
  const available = [plugin("postgres"), plugin("uwsgi"), plugin("django", ["postgres"]), plugin("redis")];

  it("keeps the user's order when constraints allow it, and says nothing", () => {
    const { plugins, notes } = orderPlugins(given(["postgres", "uwsgi", "django"]), available);
    assert.deepEqual(names(plugins), ["postgres", "uwsgi", "django"]);
    assert.deepEqual(notes, []);
  });

  it("moves what must follow, stably, and says what moved", () => {
    const { plugins, notes } = orderPlugins(given(["django", "redis", "postgres", "uwsgi"]), available);
    assert.deepEqual(names(plugins), ["redis", "postgres", "django", "uwsgi"]);
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? "", /django/);
  });

  it("ignores `after` on an inactive plugin", () => {
    assert.deepEqual(names(orderPlugins(given(["django", "uwsgi"]), available).plugins), ["django", "uwsgi"]);
  });

  it("reads the built-in plugins, each valid against the plugin schema", () => {
    const builtIn = readPlugins([], ROOT, { checkBuiltIn: true });
    assert.deepEqual(names(builtIn).sort(), ["django", "postgres", "sentry", "uwsgi"]);
    assert.deepEqual(builtIn.find((p) => p.name === "django")?.after, ["postgres"]);
  });

  it("the project schema with every built-in plugin's variables is a valid draft-07 schema", () => {
    const schema = schemaFor(readPlugins([], ROOT, { checkBuiltIn: true }), readProjectSchema());
    const ajv = new Ajv({ strict: true, validateSchema: true });
    for (const format of ["image-reference", "host-name", "absolute-path", "home-path", "lftp-dsn"]) ajv.addFormat(format, () => true);
    assert.equal(ajv.validateSchema(schema), true, JSON.stringify(ajv.errors));
    ajv.compile(schema);
  });

  it("an external plugin dir is searched first", () => {
    const found = readPlugins([join(FIXTURES, "external-plugin", "my-plugins")], ROOT);
    assert.ok(names(found).includes("redis"));
  });

  it("an external plugin's templates are linted as it loads, the ones it includes and its secrets too", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-plugins-"));
    try {
      mkdirSync(join(dir, "p"));
      writeFileSync(join(dir, "p", "plugin.yml"), "name: p\ndescription: lint test\n");
      writeFileSync(join(dir, "p", "deploy.pre.sh.ejs"), "<%- include('part.sh.ejs') %>\n");
      writeFileSync(join(dir, "p", "part.sh.ejs"), "# included\nrm -f /etc/p/<%- sh(spec.name) %>\n");
      writeFileSync(join(dir, "p", "secrets.env.ejs"), "export <%- shAssign('K', spec.name) %>\n");
      const error = (() => {
        try {
          readPlugins([dir], dir);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      assert.ok(error instanceof PlcError, "the plugin is refused");
      assert.deepEqual(
        error.diagnostics.map((d) => [d.code, d.origin?.kind === "file" ? `${d.origin.file}:${String(d.origin.line)}` : ""]),
        [
          ["lint-glued-before", "p/part.sh.ejs:2"],
          ["lint-env-line", "p/secrets.env.ejs:1"],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("image config", () => {
  it("reads Env from a docker-save archive in TypeScript", () => {
    const env = readImageEnv(join(FIXTURES, "image-archive", "app.tar"), ROOT);
    assert.equal(env.get("PLAYLABS_PLUGINS"), "postgres,uwsgi,django");
    assert.equal(env.get("UWSGI_SPOOLER_NAMES"), "mail,stat");
  });
});

describe("the command line", () => {
  const plc = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

  it("plc check says when it reordered plugins", () => {
    const result = plc("check", "image=betagouv/mrs:master", "plugins=django,postgres", "env.SECRET_KEY=x");
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /note: plugin order: 'postgres' moved/);
    assert.match(result.stderr, /order used: postgres,django/);
    assert.deepEqual((JSON.parse(result.stdout) as { plugins: string[] }).plugins, ["postgres", "django"]);
  });

  it("-p repeated adds plugins up, in order", () => {
    const result = plc("check", "image=x:1", "-p", "postgres", "-p", "uwsgi,django", "env.SECRET_KEY=x");
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual((JSON.parse(result.stdout) as { plugins: string[] }).plugins, ["postgres", "uwsgi", "django"]);
  });

  it("plc check masks secrets", () => {
    const result = plc("check", "image=x:1", "-p", "sentry", "sentry_dsn=https://abc123@sentry.example.com/42", "backup_password=hunter2");
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stdout.includes("abc123") && !result.stdout.includes("hunter2"));
    assert.match(result.stdout, /"sentry_dsn": "\*\*\*\*\*\*\*\*"/);
  });

  it("plc plugins lists each plugin with its variables and defaults", () => {
    const result = plc("plugins");
    assert.equal(result.status, 0, result.stderr);
    for (const name of ["postgres", "django", "uwsgi", "sentry"]) assert.match(result.stdout, new RegExp(`^${name}: `, "m"));
    assert.match(result.stdout, /postgres_image \(default "postgres:17"\)/);
    assert.match(result.stdout, /order: after postgres/);
  });

  it("ENV PLAYLABS_PLUGINS from --image-archive picks the plugins; the command line wins over it", () => {
    const archive = join(FIXTURES, "image-archive", "app.tar");
    const fromImage = plc("check", "--image-archive", archive, "image=betagouv/mrs:master", "env.SECRET_KEY=x");
    assert.equal(fromImage.status, 0, fromImage.stderr);
    assert.deepEqual((JSON.parse(fromImage.stdout) as { plugins: string[] }).plugins, ["postgres", "uwsgi", "django"]);
    const fromArgv = plc("check", "--image-archive", archive, "image=betagouv/mrs:master", "-p", "sentry", "sentry_dsn=https://a@s.example.com/1");
    assert.deepEqual((JSON.parse(fromArgv.stdout) as { plugins: string[] }).plugins, ["sentry"]);
  });
  it("each plugin env template sees the spec's values, whatever an earlier one wrote to its data", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-plugin-data-"));
    try {
      mkdirSync(join(dir, "leaky"));
      writeFileSync(
        join(dir, "leaky", "plugin.yml"),
        ["name: leaky", "description: writes to its template data", "env:", "  LEAKY_A: '<% locals.name = \"written\"; arguments[0].plugins = [] %>a'", "  LEAKY_B: '<%- name %> <%- plugins.join(\",\") %>'", ""].join("\n"),
      );
      const result = plc("check", "--plugins-dir", dir, "-p", "leaky", "image=app:1", "prefix=yp", "instance=prod");
      assert.equal(result.status, 0, result.stderr);
      const values = (JSON.parse(result.stdout) as { values: Record<string, string> }).values;
      assert.equal(values["env.LEAKY_B"], "yp-prod leaky");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("what an external plugin's secrets template writes to its data does not reach the bundle's other files", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-plugin-secrets-"));
    try {
      mkdirSync(join(dir, "pusher"));
      writeFileSync(join(dir, "pusher", "plugin.yml"), "name: pusher\ndescription: writes to its template data\n");
      writeFileSync(join(dir, "pusher", "secrets.env.ejs"), `<%- shAssign("PUSHER_KEY", requiredTools.push("leaked-tool") > 0 ? "v" : "") %>\n`);
      const out = join(dir, "out");
      const result = plc("render", "-o", out, "--plugins-dir", dir, "-p", "pusher", "image=app:1", "prefix=yp", "instance=prod");
      assert.equal(result.status, 0, result.stderr);
      assert.match(readFileSync(join(out, "secrets.keys"), "utf8"), /^PUSHER_KEY$/m, "the plugin's secret is listed");
      assert.doesNotMatch(readFileSync(join(out, "install.sh"), "utf8"), /leaked-tool/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
