// install.sh on a sandbox host, given bundles altered after plc built them (the review's V01, V03, V05):
// refused with nothing changed, or, when only the tar headers lie, deployed with root and MANIFEST.json's modes.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { withFileListedOnlyInSums, withOwnerAndMode, withSpecialEntries, readEntries } from "../tamper.js";
import { SandboxHost, buildBundle, install, q, requireSandbox, type Bundle } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const BASE = ["image=betagouv/mrs:v1", "prefix=ybs", "instance=hack"];
const HOST_ROOTS = ["/home", "/etc/systemd/system", "/etc/logrotate.d", "/etc/nginx/sites-enabled", "/root"];

/** The same bundle with its tarball replaced by `tgz`. */
function tamperedCopy(bundle: Bundle, name: string, tgz: Buffer): Bundle {
  const tarball = bundle.tarball.replace(/\.tar\.gz$/, `.${name}.tar.gz`);
  writeFileSync(tarball, tgz);
  return { ...bundle, tarball };
}

describe("install.sh refuses a tampered bundle", () => {
  it("a secrets.env listed only in SHA256SUMS: refused before it is sourced, nothing changed", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(BASE);
    const evil = tamperedCopy(bundle, "secrets", withFileListedOnlyInSums(readFileSync(bundle.tarball), NAME, "secrets.env", "X=1\nid >/root/PWNED_tamper\n"));
    const before = host.snapshot(HOST_ROOTS);
    const result = install(host, evil);
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stderr, /SHA256SUMS and MANIFEST\.json list different files/);
    assert.equal(host.sh("test -e /root/PWNED_tamper").status, 1, "the planted secrets.env ran");
    // /root/bundles holds the unpacked bundle itself; everything else is as before.
    assert.equal(host.snapshot(HOST_ROOTS).split("\n").filter((line) => !line.startsWith("/root/bundles")).join("\n"),
      before.split("\n").filter((line) => !line.startsWith("/root/bundles")).join("\n"));
    assert.deepEqual(host.calls(), [], "no docker or systemctl call");
  });

  it("a char device, a FIFO and a nested SHA256SUMS: refused, nothing changed, no node in releases/", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(BASE);
    const base = withFileListedOnlyInSums(readFileSync(bundle.tarball), NAME, "logrotate/SHA256SUMS", "0000  x\n");
    const none = { uid: 0, gid: 0, content: Buffer.alloc(0) };
    const devices = tamperedCopy(bundle, "devices", withSpecialEntries(readFileSync(bundle.tarball), [
      { ...none, path: `${NAME}/logrotate/zero`, type: "CharacterDevice", mode: 0o666, devmaj: 1, devmin: 5 },
      { ...none, path: `${NAME}/logrotate/fifo`, type: "FIFO", mode: 0o644 },
    ]));
    const nested = tamperedCopy(bundle, "nested", base);
    for (const [evil, why] of [[devices, /the bundle holds a symlink, a device node, a FIFO or a socket/], [nested, /the bundle holds a nested SHA256SUMS/]] as const) {
      const result = install(host, evil);
      assert.notEqual(result.status, 0, result.stdout);
      assert.match(result.stderr, why);
      assert.equal(host.sh(`test -e ${q(HOME)}`).status, 1, `${HOME} was created`);
    }
    assert.deepEqual(host.calls(), [], "no docker or systemctl call");
  });
});

describe("install.sh ignores the owners and modes of the tar headers", () => {
  it("headers with owner 1000 and mode 0777: releases/ holds root's files with MANIFEST.json's modes", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(BASE);
    const tgz = withOwnerAndMode(readFileSync(bundle.tarball), 1000, 0o777);
    const evil = tamperedCopy(bundle, "owner", tgz);
    const result = install(host, evil);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    const manifestEntry = readEntries(tgz).find((entry) => entry.path === `${NAME}/MANIFEST.json`);
    const manifest = JSON.parse(manifestEntry?.content.toString("utf8") ?? "{}") as { files: { path: string; mode: string }[] };
    const release = `${HOME}/releases/${bundle.id}`;
    const listing = host.must(`cd ${q(release)} && find . -mindepth 1 -printf '%P %u:%g %m %y\\n' | sort`);
    const expected = new Map<string, string>([["MANIFEST.json", "root:root 644 f"], ["SHA256SUMS", "root:root 644 f"]]);
    for (const file of manifest.files) {
      expected.set(file.path, `root:root ${Number.parseInt(file.mode, 8).toString(8)} f`);
      const parts = file.path.split("/").slice(0, -1);
      parts.forEach((_, index) => expected.set(parts.slice(0, index + 1).join("/"), "root:root 755 d"));
    }
    const seen = new Map(listing.trim().split("\n").map((line) => {
      const [path = "", ...rest] = line.split(" ");
      return [path, rest.join(" ")] as const;
    }));
    assert.deepEqual(seen, expected);
    assert.equal(host.must(`stat -c '%U:%G %a' ${q(release)}`).trim(), "root:root 755");
  });
});
