// The first plc deploy on a host that already runs the instance (made by playlabs or by hand): it is
// backed up first, and a failed deploy brings back exactly the container that ran before.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SandboxHost, buildBundle, install, mustInstall, q, requireSandbox, unpack } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const OLD = "registry.example.com/ybs:old";

function args(image: string, ...extra: string[]): string[] {
  return [`image=${image}`, "prefix=ybs", "instance=hack", "backup_password=pw", "healthcheck_timeout=2", ...extra];
}

/** A site plc did not make: a running container of the instance's name, its image file and its logs. */
function seedSite(host: SandboxHost, port: string): string {
  host.image(OLD, { body: "old site\n" });
  host.must(`docker pull ${q(OLD)} >/dev/null && docker network create playlabs >/dev/null`);
  host.must(`mkdir -p ${HOME}/log && printf 'years of logs\\n' >${HOME}/log/app.log && printf '%s\\n' ${q(OLD)} >${HOME}/docker-image`);
  host.must(
    `docker run --detach --name ${NAME} --restart unless-stopped --network playlabs --publish 127.0.0.1:${port}:8000 ` +
      `--mount type=bind,source=${HOME}/log,target=/app/log --env PLAYLABS=1 ${q(OLD)} >/dev/null`,
  );
  return readFileSync(join(host.state, "containers", NAME, "id"), "utf8");
}

/** restic with the build's backup password (a failed first deploy takes its password file back). */
function restic(host: SandboxHost, command: string): string {
  return host.must(`RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD=pw restic ${command}`);
}

describe("the first deploy over an existing site", () => {
  it("backs up first; a failed health check brings back the very container that ran, and its image file", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    host.image("ybs:broken", { health: "down" });
    host.image("ybs:v1", { body: "plc v1\n" });
    const broken = buildBundle(args("ybs:broken"));
    const port = host.must(`sed -n 's/.*127\\.0\\.0\\.1:\\([0-9]*\\):.*/\\1/p' ${q(`${unpack(host, broken)}/docker-run.sh`)}`).trim();
    const id = seedSite(host, port);

    const failed = install(host, broken);
    assert.equal(failed.status, 1, failed.stdout);
    assert.match(failed.stdout, /backing up before the upgrade/);
    assert.match(failed.stderr, /no healthy answer/);
    assert.match(failed.stderr, new RegExp(`restarted the container ${NAME} that ran before`));
    // The same container (id, image, env), running and answering; its image file as it was.
    assert.equal(readFileSync(join(host.state, "containers", NAME, "id"), "utf8"), id);
    assert.deepEqual(host.container(NAME), { image: OLD, running: true });
    assert.equal(host.containerEnv(NAME).get("PLAYLABS"), "1");
    assert.equal(host.must(`curl -sf http://127.0.0.1:${port}/`), "old site\n");
    assert.equal(host.read(`${HOME}/docker-image`), `${OLD}\n`);
    assert.equal(host.exists(`${HOME}/current`), false);
    // The backup holds what the site had before plc touched it.
    assert.equal(restic(host, `dump latest ${HOME}/log/app.log`), "years of logs\n");
    assert.equal(restic(host, `dump latest ${HOME}/docker-image`), `${OLD}\n`);

    // A good release then takes over, backed up again first, and the old container is gone.
    const good = buildBundle(args("ybs:v1"));
    const out = mustInstall(host, good);
    assert.match(out, /backing up before the upgrade/);
    assert.deepEqual(host.container(NAME), { image: "ybs:v1", running: true });
    assert.equal(host.container(`${NAME}.plc-previous`), undefined);
    assert.equal((JSON.parse(restic(host, "snapshots --json")) as unknown[]).length, 2);
    assert.equal(host.read(`${HOME}/log/app.log`), "years of logs\n");
  });

  it("a failed backup of an existing site stops the deploy before anything changes", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    host.image("ybs:v1", { body: "plc v1\n" });
    const bundle = buildBundle(args("ybs:v1"));
    const port = host.must(`sed -n 's/.*127\\.0\\.0\\.1:\\([0-9]*\\):.*/\\1/p' ${q(`${unpack(host, bundle)}/docker-run.sh`)}`).trim();
    const id = seedSite(host, port);
    // A repository restic cannot open: the backup fails, so the deploy must not go on.
    host.must(`mkdir -p ${HOME}/restic && printf 'not a repository' >${HOME}/restic/config`);
    const result = install(host, bundle);
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /backup failed: the deploy stopped, what ran before still runs/);
    assert.equal(readFileSync(join(host.state, "containers", NAME, "id"), "utf8"), id);
    assert.deepEqual(host.container(NAME), { image: OLD, running: true });
    assert.equal(host.read(`${HOME}/docker-image`), `${OLD}\n`);
    assert.equal(host.exists(`${HOME}/.backup_password`), false, "the password written for the backup is taken back");
  });
});
