// Failure branches nobody provokes by accident: a health check that answers 500 is a failed deploy,
// and a vhost that nginx -t rejects never stays in place.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SandboxHost, buildBundle, install, mustInstall, requireSandbox } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const V1 = "betagouv/mrs:v1";
const V2 = "betagouv/mrs:v2";

function args(image: string, ...extra: string[]): string[] {
  return [`image=${image}`, "prefix=ybs", "instance=hack", "healthcheck_timeout=2", ...extra];
}

describe("failure branches", () => {
  it("a health check answered with 500 fails the deploy and the previous release keeps running", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { body: "v1\n" });
    host.image(V2, { body: "v2\n" });
    const a = buildBundle(args(V1));
    mustInstall(host, a);
    // The container comes back after a reboot or a crash: docker restarts it unless someone stopped it.
    const run = host.calls().find((call) => call.startsWith("docker 'run'") && call.includes("'--detach'"));
    assert.match(run ?? "", / '--restart' 'unless-stopped' /, run);
    const b = buildBundle(args(V2, "healthcheck_path=/cgi-bin/status-500"));
    const result = install(host, b);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /no healthy answer from http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/status-500 within 2s/);
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${a.id}`);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
  });

  it("a vhost nginx -t rejects is replaced by the previous one, and the previous release keeps running", async (t) => {
    if (!requireSandbox(t, "nginx")) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { body: "v1\n" });
    host.image(V2, { body: "v2\n" });
    const vhostPath = "/etc/nginx/sites-enabled/ybs.example.com.conf";
    const a = buildBundle(args(V1, "dns=ybs.example.com"));
    mustInstall(host, a);
    const before = host.read(vhostPath);
    // Something else on the host breaks nginx's configuration: any new vhost then fails nginx -t.
    host.must("printf 'this is not nginx configuration\\n' >/etc/nginx/sites-enabled/zz-broken.conf");
    const b = buildBundle(args(V2, "dns=ybs.example.com", "dns_redirect=old.example.com"));
    const result = install(host, b);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /nginx -t rejected the vhost; the previous one is back/);
    assert.equal(host.read(vhostPath), before, "the previous vhost is back");
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${a.id}`);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
  });
});
