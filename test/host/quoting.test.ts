// Values that validation accepts and that once escaped their quotes in install.sh (security review C29,
// C33): on a sandbox host they deploy, and nothing in them runs.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SandboxHost, buildBundle, install, requireSandbox } from "./sandbox.js";

const HOME = "/home/project-staging";

describe("hostile values that validation accepts, on a host", () => {
  it("C29: healthcheck_path=/$(touch$IFS/root/PWNED) deploys and runs nothing", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(["image=app:v1", "healthcheck_path=/$(touch$IFS/root/PWNED)"]);
    const result = install(host, bundle);
    // Checked before the status: a canary that fired is the failure that matters.
    assert.equal(existsSync(host.path("/root/PWNED")), false, "the command substitution in healthcheck_path ran as root");
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(host.path(`${HOME}/current/install.sh`)), "the release is current");
    // The health check asked the container for the path as written, $ and all.
    assert.match(readFileSync(join(host.state, "containers", "project-staging", "log"), "utf8"), /url:\/\$\(touch\$IFS\/root\/PWNED\)/);
  });

  it("C33: dns=*.example.com installs its vhost as _.example.com.conf, checked by nginx", async (t) => {
    if (!requireSandbox(t, "nginx")) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(["image=app:v1", "dns=*.example.com"]);
    const result = install(host, bundle);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(host.path("/etc/nginx/sites-enabled/_.example.com.conf")), "the vhost is named after the wildcard");
    assert.match(host.read("/etc/nginx/sites-enabled/_.example.com.conf"), /server_name \*\.example\.com;/);
    host.must("nginx -t");
  });
});
