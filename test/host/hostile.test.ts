// What a compromised container, or a careless hand on the host, may leave for root: links in the
// directories a container writes, files others may write, a home that is not root's. Root never
// follows them, never sources them, and says so before anything changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SandboxHost, buildBundle, install, mustInstall, q, requireSandbox } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const IMAGE = "betagouv/mrs:v1";
const ARGS = [`image=${IMAGE}`, "prefix=ybs", "instance=hack"];

/** Runs a command as uid 1000, the image's user: what the container can do through its mounts. */
function asContainer(host: SandboxHost, script: string): void {
  host.must(`setpriv --reuid=1000 --regid=1000 --clear-groups sh -c ${q(script)}`);
}

describe("a hostile container or host", () => {
  it("a sub-spooler replaced by a link: the next deploy does not hand the link's target to the container", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000" });
    const bundle = buildBundle([...ARGS, "uwsgi_spooler_names=mail,jobs"], { plugins: ["uwsgi"] });
    mustInstall(host, bundle);
    assert.equal(host.must(`stat -c %u ${HOME}/spooler/jobs`).trim(), "1000");
    asContainer(host, `cd ${HOME}/spooler && rm -rf jobs mail && ln -s /etc/nginx jobs && ln -s /root mail`);
    const again = buildBundle([...ARGS, "uwsgi_spooler_names=mail,jobs", "env.AGAIN=1"], { plugins: ["uwsgi"] });
    // The deploy goes on (a container cannot block deploys with a link) and root follows neither link.
    const out = install(host, again);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, /spooler\/jobs is a link the container made; left as it is/);
    assert.equal(host.must("stat -c %u:%g /etc/nginx /root").trim(), "0:0\n0:0");
    assert.equal(host.must(`readlink ${HOME}/spooler/jobs`).trim(), "/etc/nginx");
  });

  it("a data directory that is a link is refused before anything changes", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000" });
    const bundle = buildBundle(ARGS);
    mustInstall(host, bundle);
    host.must(`rm -rf ${HOME}/log && ln -s /etc/nginx ${HOME}/log`);
    const result = install(host, buildBundle([...ARGS, "env.AGAIN=1"]));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /\/home\/ybs-hack\/log is a symbolic link/);
    assert.equal(host.must("stat -c %u /etc/nginx").trim(), "0");
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${bundle.id}`);
  });

  // (PATH and the like cannot be kept from the docker client, which reads the values by name: the
  // build refuses them, see test/bad-input.test.ts.)
  it("docker-run.sh keeps its own paths whatever the env file assigns (home)", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000" });
    const bundle = buildBundle([...ARGS, "env.API_TOKEN=s3cret", "secret_env=API_TOKEN"]);
    mustInstall(host, bundle);
    // The env file of a release redefines the script's own variables, and the container plants a
    // secrets file where that home would point.
    host.must(`printf "home='%s'\\n" ${HOME}/log >>${HOME}/current/env`);
    asContainer(host, `printf 'touch /root/PWNED\\n' >${HOME}/log/.secrets.env`);
    host.must(`${HOME}/docker-run.sh`);
    assert.equal(host.exists("/root/PWNED"), false);
    assert.equal(host.containerEnv(NAME).get("API_TOKEN"), "s3cret");
  });

  it("hooks read a secret by name: a PATH among the secrets never picks the docker they run", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000" });
    const bundle = buildBundle(ARGS, { plugins: ["postgres"] });
    mustInstall(host, bundle);
    // A secret named PATH (the build refuses it; the hooks must not depend on that) and a planted docker.
    host.must(`printf "PATH='%s:/usr/local/sbin:/usr/bin:/bin'\\n" ${HOME}/log >>${HOME}/.secrets.env`);
    asContainer(host, `printf '#!/bin/sh\\ntouch /root/PWNED\\n' >${HOME}/log/docker && chmod +x ${HOME}/log/docker`);
    host.must(`docker rm -f ${NAME}-postgres >/dev/null`);
    mustInstall(host, buildBundle([...ARGS, "env.AGAIN=1"], { plugins: ["postgres"] }));
    assert.equal(host.exists("/root/PWNED"), false);
    assert.equal(host.container(`${NAME}-postgres`)?.running, true);
    assert.match(host.containerEnv(`${NAME}-postgres`).get("POSTGRES_PASSWORD") ?? "", /^[0-9a-f]{64}$/);
  });

  it("a secrets file others may write, or a home that is not root's, is refused before anything runs", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000" });
    const bundle = buildBundle([...ARGS, "env.API_TOKEN=s3cret", "secret_env=API_TOKEN"]);
    mustInstall(host, bundle);
    const next = buildBundle([...ARGS, "env.API_TOKEN=s3cret", "secret_env=API_TOKEN", "env.AGAIN=1"]);

    host.must(`chmod 0666 ${HOME}/.secrets.env`);
    const writable = install(host, next);
    assert.equal(writable.status, 1);
    assert.match(writable.stderr, /\.secrets\.env must be owned by root and writable only by root/);
    const run = host.sh(`${HOME}/docker-run.sh`);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /\.secrets\.env must be owned by root/);
    host.must(`chmod 0600 ${HOME}/.secrets.env`);

    host.must(`chown 1000 ${HOME}`);
    const home = install(host, next);
    assert.equal(home.status, 1);
    assert.match(home.stderr, /is not owned by root/);
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${bundle.id}`);
  });
});
