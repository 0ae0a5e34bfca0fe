// HTTPS decisions at build time (compiler/tls): which mode, which ACME directory, when HSTS, and the
// bad inputs around them. The host side is test/host/tls.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { httpsUrlOf } from "../compiler/ship/transport.js";
import { http2Form, LETSENCRYPT_PRODUCTION, LETSENCRYPT_STAGING } from "../compiler/tls/index.js";
import { CLI } from "./fixtures.js";

const work = mkdtempSync(join(tmpdir(), "plc-tls-"));
after(() => {
  rmSync(work, { recursive: true, force: true });
});
const BASE = ["image=app:v1", "dns=a.example.com"];

function plc(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: work });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The bundle tree of `plc render`, as path -> content. */
function render(args: string[]): Map<string, string> {
  const out = mkdtempSync(join(work, "render-"));
  const result = plc(["render", "-o", out, ...args]);
  assert.equal(result.status, 0, result.stderr);
  const files = new Map<string, string>();
  const list = spawnSync("find", [out, "-type", "f"], { encoding: "utf8" }).stdout.trim().split("\n");
  for (const file of list) files.set(file.slice(out.length + 1), readFileSync(file, "utf8"));
  return files;
}

describe("tls mode", () => {
  it("letsencrypt_email written bare in group_vars/all, as playlabs' inventory template has it, turns acme on", () => {
    // Not a name plc finds by itself in the working directory (inventory/, inventory.yml): the other cases run there too.
    const inventory = join(work, "bare-email");
    mkdirSync(join(inventory, "group_vars", "all"), { recursive: true });
    writeFileSync(join(inventory, "inventory.yml"), "all:\n  hosts:\n    web1:\n");
    writeFileSync(
      join(inventory, "group_vars", "all", "letsencrypt.yml"),
      "letsencrypt_email: ci@example.com\nletsencrypt_uri: https://acme-staging.api.letsencrypt.org/directory\n",
    );
    const files = render(["-i", inventory, ...BASE]);
    const tls = files.get("tls.sh") ?? "";
    assert.match(tls, /^directory=https:\/\/acme-staging-v02\.api\.letsencrypt\.org\/directory$/m, "the dead v1 staging URL maps to v2");
    assert.match(tls, /run_uacme new ci@example\.com/);
    assert.ok(files.has("systemd/tls-project-staging.timer"));
    // Staging certificates are not trusted by browsers: no HSTS.
    assert.doesNotMatch(files.get("nginx/https/a.example.com.conf") ?? "", /Strict-Transport-Security/);
    const check = plc(["check", "-i", inventory, ...BASE]);
    assert.match(check.stderr + check.stdout, /ACME v1 directory https:\/\/acme-staging\.api\.letsencrypt\.org\/directory no longer exists: using its v2 successor/);
  });

  it("tls off: no TLS file, and the vhost is the plain HTTP one it always was", () => {
    const files = render(BASE);
    assert.deepEqual([...files.keys()].filter((path) => /tls|https/.test(path)), []);
    assert.doesNotMatch(files.get("nginx/a.example.com.conf") ?? "", /acme-challenge|443/);
  });

  it("production ACME sends HSTS with hsts_max_age, 0 sends none; the ACME challenge is served before any redirect", () => {
    const files = render([...BASE, "tls=acme", "hsts_max_age=600", "dns_redirect=b.example.com"]);
    assert.match(files.get("tls.sh") ?? "", new RegExp(`^directory=${LETSENCRYPT_PRODUCTION.replace(/[./]/g, "\\$&")}$`, "m"));
    const https = files.get("nginx/https/a.example.com.conf") ?? "";
    assert.match(https, /add_header Strict-Transport-Security max-age=600 always;/);
    assert.match(https, /listen 443 ssl http2;/);
    assert.match(files.get("nginx/https-http2-on/a.example.com.conf") ?? "", /listen 443 ssl;\n {4}listen \[::\]:443 ssl;\n {4}http2 on;/);
    // Every port-80 server answers the challenge; redirects live in a location, after it.
    for (const vhost of ["nginx/a.example.com.conf", "nginx/https/a.example.com.conf"]) {
      const servers = (files.get(vhost) ?? "").split(/^server \{$/m).slice(1).filter((block) => /listen 80;/.test(block));
      assert.equal(servers.length, 2, vhost);
      for (const block of servers) {
        assert.match(block, /location \^~ \/\.well-known\/acme-challenge\/ \{\n\s+alias \/home\/project-staging\/acme-challenge\/;\n\s+auth_basic off;/);
        assert.doesNotMatch(block, /^ {4}return/m, "no server-level return: it would answer the challenge too");
      }
    }
    assert.doesNotMatch(render([...BASE, "tls=acme", "hsts_max_age=0"]).get("nginx/https/a.example.com.conf") ?? "", /Strict-Transport-Security/);
    assert.doesNotMatch(render([...BASE, "tls=self-signed"]).get("nginx/https/a.example.com.conf") ?? "", /Strict-Transport-Security/);
    assert.equal(render([...BASE, "acme_directory=staging", "tls=acme"]).get("tls.sh")?.includes(`directory=${LETSENCRYPT_STAGING}`), true);
  });

  it("nginx's http2 form follows its version: `http2 on;` from 1.25.1", () => {
    assert.equal(http2Form("1.22.1"), "listen");
    assert.equal(http2Form("1.25.0"), "listen");
    assert.equal(http2Form("1.25.1"), "directive");
    assert.equal(http2Form("1.27.4"), "directive");
  });
});

it("plc ship's report takes the HTTPS address only from tls.sh's line saying nginx answers over HTTPS", () => {
  assert.equal(httpsUrlOf("tls.sh: HTTPS is on: https://a.example.com/health/ answers 200"), "https://a.example.com/health/");
  assert.equal(httpsUrlOf("install.sh: deployed release 0123456789ab (app:v1)"), undefined);
  assert.equal(httpsUrlOf("app: HTTPS is on: https://evil.example/ answers 200"), undefined, "a container's own output is not tls.sh's");
});

describe("letsencrypt_email where no certificate can be had", () => {
  it("a project without dns (playlabs' group_vars/all sets it for every project) builds, plain HTTP, no TLS file", () => {
    const files = render(["image=app:v1", "letsencrypt_email=a@example.com"]);
    assert.ok(![...files.keys()].some((path) => path.includes("tls")), [...files.keys()].join(" "));
  });
  it("a wildcard name: plain HTTP and a note, where tls=acme would be refused", () => {
    const result = plc(["check", "image=app:v1", "dns=*.example.com", "letsencrypt_email=a@example.com"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /wildcard name cannot get a certificate over HTTP-01: HTTPS stays off/);
  });
});

describe("tls bad input: exit 2, located, nothing written", () => {
  const cases: { name: string; args: string[]; code: string; mentions: string[] }[] = [
    { name: "files without the key", args: ["image=app:v1", "dns=a.example.com", "tls=files"], code: "tls-files-missing", mentions: ["tls=files needs tls_certificate", "tls_key", "argv[5]"] },
    { name: "acme without a dns", args: ["image=app:v1", "tls=acme"], code: "tls-without-dns", mentions: ["needs a dns", "argv[4]"] },
    { name: "an unknown mode", args: ["image=app:v1", "dns=a.example.com", "tls=on"], code: "invalid-value", mentions: ["tls", "argv[5]", "acme"] },
    { name: "a key while tls is not files", args: ["image=app:v1", "dns=a.example.com", "tls=self-signed", "tls_key=-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"], code: "tls-files-unused", mentions: ["tls_key is set, but tls is self-signed", "argv[6]"] },
    { name: "a wildcard with acme", args: ["image=app:v1", "dns=*.example.com", "tls=acme"], code: "tls-acme-wildcard", mentions: ["*.example.com", "HTTP-01", "argv[4]", "tls=files"] },
    { name: "an http directory", args: ["image=app:v1", "dns=a.example.com", "acme_directory=http://ca.internal/directory"], code: "invalid-value", mentions: ["acme_directory", "argv[5]"] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = mkdtempSync(join(work, "bad-"));
      // argv counts from plc's first argument: build -o DIR come first.
      const result = plc(["build", "-o", out, ...c.args]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`\\[${c.code}\\]`));
      for (const mention of c.mentions) assert.ok(result.stderr.includes(mention), `${mention} in:\n${result.stderr}`);
      assert.deepEqual(spawnSync("ls", ["-A", out], { encoding: "utf8" }).stdout, "");
    });
  }
});
