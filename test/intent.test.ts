// Promises a regenerated golden file would not defend: hook order, host_vars over the group, the
// bundle id check of plc verify, the receiver's own sha256 check. Each asserts the behaviour itself.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkSpec, compileBundle } from "../compiler/index.js";
import { explainSpec } from "../compiler/explain.js";
import { tgzBytes } from "../compiler/pack/index.js";
import { receiverScript, RECEIVER_STATUS } from "../compiler/ship/receiver.js";
import { streamChunks } from "../compiler/ship/transport.js";
import type { Shipment } from "../compiler/ship/shipment.js";
import { CLI, compileFixture, readFixture } from "./fixtures.js";
import { withManifestEdited } from "./tamper.js";
import { requireTool, runTool } from "./tools.js";

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "plc-intent-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Two external plugins, alpha then beta, each with every hook that has a pre and a post. */
function twoPlugins(dir: string): string {
  const root = join(dir, "plugins");
  for (const [name, after] of [["alpha", []], ["beta", ["alpha"]]] as const) {
    mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, name, "plugin.yml"), `name: ${name}\ndescription: ${name} for the order test\nafter: [${after.join(", ")}]\n`);
    for (const hook of ["deploy.pre", "deploy.post", "restore.pre", "restore.post", "backup.pre", "backup.post"]) {
      writeFileSync(join(root, name, `${hook}.sh.ejs`), `echo ${name} ${hook}\n`);
    }
  }
  return root;
}

/** Where each plugin's hook file is named in a script, by plugin. */
function positions(text: string, hook: string): { alpha: number; beta: number } {
  const at = (plugin: string): number => {
    const index = text.search(new RegExp(`hooks/[0-9]+-${plugin}/${hook.replace(".", "\\.")}\\.sh`));
    assert.ok(index >= 0, `${plugin} ${hook} is run`);
    return index;
  };
  return { alpha: at("alpha"), beta: at("beta") };
}

describe("intent", () => {
  it("pre hooks run in plugin order, post hooks in reverse (deploy, restore, backup)", (t) => {
    const dir = scratch(t);
    const pluginsDir = twoPlugins(dir);
    const compiled = compileBundle(
      { words: [{ text: "image=app:1", index: 1 }, { text: "backup_password=pw", index: 2 }], plugins: [{ text: "alpha,beta", index: 4 }], inventoryDir: undefined, vaultPasswordFiles: [], pluginsDirs: [pluginsDir], imageArchive: undefined, cwd: dir },
      { plcVersion: "0", mtime: 0 },
    );
    const file = (path: string): string => {
      const found = compiled.bundle.files.find((candidate) => candidate.path === path);
      assert.ok(found !== undefined, path);
      return found.content.toString();
    };
    // install.sh names the deploy hooks; restore.sh and backup.sh the others.
    const scripts: [string, string][] = [["install.sh", "deploy"], ["restore.sh", "restore"], ["backup.sh", "backup"]];
    for (const [script, stage] of scripts) {
      const text = file(script);
      const pre = positions(text, `${stage}.pre`);
      const post = positions(text, `${stage}.post`);
      assert.ok(pre.alpha < pre.beta, `${script}: ${stage}.pre runs alpha before beta`);
      assert.ok(post.beta < post.alpha, `${script}: ${stage}.post runs beta before alpha`);
    }
  });

  it("host_vars/<host> wins over group_vars of the instance's group", (t) => {
    const dir = scratch(t);
    const inventory = join(dir, "inventory");
    mkdirSync(join(inventory, "group_vars"), { recursive: true });
    mkdirSync(join(inventory, "host_vars"), { recursive: true });
    writeFileSync(join(inventory, "inventory.yml"), "all:\n  children:\n    ybs-hack:\n      hosts:\n        web1:\n        web2:\n");
    writeFileSync(join(inventory, "group_vars", "ybs-hack.yml"), "ybs_hack_image: app:group\nybs_hack_port: 8001\n");
    writeFileSync(join(inventory, "host_vars", "web1.yml"), "ybs_hack_port: 8002\n");
    const load = (words: string[]) => ({
      words: words.map((text, index) => ({ text, index: index + 1 })),
      plugins: [],
      inventoryDir: inventory,
      vaultPasswordFiles: [],
      pluginsDirs: [],
      imageArchive: undefined,
      cwd: dir,
    });
    const port = (words: string[]) => explainSpec(checkSpec(load(words)).spec).find((value) => value.name === "port");
    const onWeb1 = port(["prefix=ybs", "instance=hack", "@web1"]);
    assert.equal(onWeb1?.value, 8002);
    assert.match(JSON.stringify(onWeb1.origin), /host_vars/);
    assert.equal(port(["prefix=ybs", "instance=hack", "@web2"])?.value, 8001, "a host without host_vars gets the group's");
    assert.equal(port(["prefix=ybs", "instance=hack", "@web1", "port=8003"])?.value, 8003, "the command line still wins");
  });

  it("plc verify refuses a bundle whose only fault is its id", (t) => {
    const dir = scratch(t);
    const compiled = compileFixture(readFixture("bare-image"));
    const forged = withManifestEdited(tgzBytes(compiled.packed), compiled.bundle.root, (manifest) => {
      manifest["id"] = "0".repeat(64);
    });
    writeFileSync(join(dir, "forged.tar.gz"), forged);
    const verified = spawnSync(process.execPath, [CLI, "verify", "forged.tar.gz"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(verified.status, 1, verified.stdout);
    assert.match(verified.stderr, /the bundle id does not match its files/);
  });

  it("the receiver refuses a bundle whose sha256 is not the one plc computed, before running anything", async (t) => {
    if (!requireTool(t, "dash", "tar", "sha256sum")) return;
    const dir = scratch(t);
    mkdirSync(join(dir, "tree", "fake"), { recursive: true });
    writeFileSync(join(dir, "tree", "fake", "install.sh"), "echo INSTALLED\n");
    assert.equal(runTool("tar", ["-czf", join(dir, "fake.tar.gz"), "-C", join(dir, "tree"), "fake"]).status, 0);
    const data = readFileSync(join(dir, "fake.tar.gz"));
    const sha256 = runTool("sha256sum", [join(dir, "fake.tar.gz")]).stdout.split(" ")[0] ?? "";
    const shipment: Shipment = { root: "fake", id: "x", source: { kind: "bytes", data }, size: data.length, sha256, secrets: undefined, description: "fake", secretKeys: [], notify: undefined, signature: undefined, imageParts: undefined };
    const chunks: Buffer[] = [];
    for await (const chunk of streamChunks(shipment)) chunks.push(chunk);
    const stream = Buffer.concat(chunks);
    const receive = (expected: string) =>
      spawnSync("dash", ["-c", receiverScript(), "plc-ship", expected, "fake"], { input: stream, encoding: "utf8", env: { PATH: process.env["PATH"], TMPDIR: dir } });
    const good = receive(sha256);
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /INSTALLED/, "the control: a matching sha256 runs install.sh");
    const other = receive("f".repeat(64));
    assert.equal(other.status, RECEIVER_STATUS.checksum, other.stderr);
    assert.match(other.stderr, /the bundle's sha256 is not the one plc computed/);
    assert.doesNotMatch(other.stdout, /INSTALLED/);
  });
});
