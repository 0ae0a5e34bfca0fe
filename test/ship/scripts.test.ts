// The receiver and the .run header are host scripts like the bundle's: POSIX sh, clean under shellcheck and dash -n.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { receiverScript } from "../../compiler/ship/receiver.js";
import { selfExtractingBundle } from "../../compiler/ship/self-extracting.js";
import { writeEntries, type RawEntry } from "../tamper.js";
import { isRoot, requireTool, runTool } from "../tools.js";

test("the receiver and the self-extracting header pass shellcheck -s sh and dash -n", (t) => {
  if (!requireTool(t, "shellcheck", "dash")) return;
  const dir = mkdtempSync(join(tmpdir(), "plc-ship-scripts-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const receiver = join(dir, "receiver.sh");
  writeFileSync(receiver, `#!/bin/sh\n${receiverScript()}`);
  const header = join(dir, "header.sh");
  writeFileSync(header, selfExtractingBundle({ tgz: function* () {}, id: "0".repeat(64) }, "ybs-hack"));
  for (const file of [receiver, header]) {
    const lint = runTool("shellcheck", ["-s", "sh", file]);
    assert.equal(lint.status, 0, lint.stdout);
    assert.equal(runTool("dash", ["-n", file]).status, 0);
  }
});

/** Feeds the receiver a stream holding `tgz`, as plc ship sends it, and returns what it did. */
function receive(dir: string, tgz: Buffer, root: string) {
  const stream = join(dir, "stream");
  rmSync(stream, { recursive: true, force: true });
  mkdirSync(stream);
  writeFileSync(join(stream, "bundle.tar.gz"), tgz);
  const sha = createHash("sha256").update(tgz).digest("hex");
  writeFileSync(join(stream, "END"), `${sha}  bundle.tar.gz\n`);
  const tar = spawnSync("tar", ["-cf", "-", "-C", stream, "bundle.tar.gz", "END"]);
  return spawnSync("sh", ["-c", receiverScript(), "plc-ship", sha, root], { input: tar.stdout, encoding: "utf8", env: { ...process.env, TMPDIR: dir } });
}

test("the receiver unpacks with owner 0 and no header modes, and refuses device nodes, FIFOs and links before install.sh", (t) => {
  if (!isRoot()) {
    t.skip("needs root: the receiver's owners are root's");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "plc-receiver-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  // Not a plc bundle: its install.sh only reports the owners and modes the receiver left it.
  const report = `find "$(dirname "$0")" -printf '%P %u %m\\n' >${dir}/report\n`;
  const file = (path: string, content: string, mode: number): RawEntry => ({ path, type: "File", mode, uid: 1000, gid: 1000, content: Buffer.from(content) });
  const base = [
    { path: "r/", type: "Directory", mode: 0o777, uid: 1000, gid: 1000, content: Buffer.alloc(0) } as RawEntry,
    file("r/install.sh", report, 0o777),
    file("r/env", "A=1\n", 0o4777),
  ];
  const installed = receive(dir, writeEntries(base), "r");
  assert.equal(installed.status, 0, installed.stderr);
  const lines = readFileSync(join(dir, "report"), "utf8").trim().split("\n").sort();
  // The headers said 1000 and 0777/04777: root owns all, the receiver's umask 077 applies, no setuid.
  assert.deepEqual(lines, ["env root 700", "install.sh root 700", "root 700"]);

  const none = { uid: 0, gid: 0, content: Buffer.alloc(0) };
  for (const extra of [
    { ...none, path: "r/zero", type: "CharacterDevice", mode: 0o666, devmaj: 1, devmin: 5 },
    { ...none, path: "r/fifo", type: "FIFO", mode: 0o644 },
    { ...none, path: "r/shadow", type: "SymbolicLink", mode: 0o777, linkpath: "/etc/shadow" },
    { ...none, path: "r/hard", type: "Link", mode: 0o644, linkpath: "r/env" },
  ] as RawEntry[]) {
    rmSync(join(dir, "report"), { force: true });
    const refused = receive(dir, writeEntries([...base, extra]), "r");
    assert.equal(refused.status, 91, `${extra.type}: ${refused.stderr}`);
    assert.match(refused.stderr, /the bundle holds a (link, a device node or a FIFO|hard link)/);
    assert.ok(!existsSync(join(dir, "report")), `${extra.type}: install.sh ran`);
  }
  const nested = receive(dir, writeEntries([...base, file("r/logrotate/SHA256SUMS", "x", 0o644)]), "r");
  assert.equal(nested.status, 91, nested.stderr);
  assert.match(nested.stderr, /nested SHA256SUMS/);
});
