// Air-gapped releases on the real engine send only the layers the host lacks: v1 goes whole, v2 (the
// same base plus one small layer) sends its top layer only, and a host missing a layer left out is
// refused in step 3, before anything changes. plc ship goes to @localhost inside the engine host (the
// same receiver and stream as over ssh), and once over a real sshd run inside it.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { CLI } from "../fixtures.js";
import { buildBundle, q, type Bundle } from "../host/sandbox.js";
import { requireTool } from "../tools.js";
import { EngineHost, requireEngine } from "./engine.js";

const NAME = "e2e-layers";
const HOME = `/home/${NAME}`;
const PORT = 28011;

/** `12.3 KiB` as plc ship prints it, in bytes. */
function bytesOf(text: string): number {
  const match = /^([0-9.]+) (B|KiB|MiB)$/.exec(text);
  assert.ok(match !== null, text);
  const unit = match[2] === "MiB" ? 1024 * 1024 : match[2] === "KiB" ? 1024 : 1;
  return Number(match[1]) * unit;
}

/** What plc ship said it sent: the stream's bytes and the image layers that travelled. */
function sentOf(stderr: string): { bytes: number; layers: string } {
  const sent = /: sent ([0-9.]+ [KM]?i?B) in /.exec(stderr);
  const layers = /image layers: ([0-9]+ of [0-9]+) sent/.exec(stderr);
  assert.ok(sent?.[1] !== undefined, stderr);
  return { bytes: bytesOf(sent[1]), layers: layers?.[1] ?? "" };
}

it("plc ship sends only the image layers the host's docker lacks, and install.sh refuses a host missing one", async (t) => {
  if (!requireEngine(t) || !requireTool(t, "sshd", "ssh", "ssh-keygen")) return;
  const engine = await EngineHost.start(t);
  const { host } = engine;
  // v1: the busybox rootfs (one layer of about 2 MiB); v2: FROM v1 plus one small file.
  engine.appImage("app:v1", { version: "v1" });
  const context = join(host.dir, "v2");
  mkdirSync(context);
  writeFileSync(join(context, "Dockerfile"), "FROM app:v1\nCOPY release.txt /app/release.txt\nENV APP_VERSION=v2\n");
  writeFileSync(join(context, "release.txt"), "v2\n");
  host.must(`DOCKER_BUILDKIT=0 docker build --quiet --tag app:v2 ${q(context)} >/dev/null`);
  // v3: another base (the rootfs with one more file), so its bottom layer is one the host never had.
  const rootfs3 = join(host.dir, "rootfs3.tar");
  copyFileSync(join(host.dir, "engine", "app-rootfs.tar"), rootfs3);
  writeFileSync(join(host.dir, "extra.txt"), "v3\n");
  host.must(`tar -rf ${q(rootfs3)} -C ${q(host.dir)} extra.txt && docker import --change 'USER app' --change 'ENV APP_VERSION=v3 APP_MODE=ok' --change 'WORKDIR /app' --change 'ENTRYPOINT ["/app/start.sh"]' ${q(rootfs3)} app:v3 >/dev/null`);
  const archive = (tag: string): string => {
    const file = join(host.dir, `${tag}.tar`);
    engine.docker(["save", `app:${tag}`, "-o", file]);
    return file;
  };
  const archives = { v1: archive("v1"), v2: archive("v2"), v3: archive("v3") };
  // The host starts with none of them: what it has comes from plc ship.
  engine.docker(["rmi", "app:v3", "app:v2", "app:v1"]);
  assert.equal(engine.docker(["image", "ls", "--all", "--quiet"]).trim(), "");
  const bundleOf = (tag: string, archiveFile: string): Bundle =>
    buildBundle([`image=app:${tag}`, "prefix=e2e", "instance=layers", `host_port=${String(PORT)}`, "healthcheck_timeout=6"], { imageArchive: archiveFile });
  const ship = (bundle: Bundle, ...flags: string[]): { status: number | null; stdout: string; stderr: string } =>
    host.sh(`${q(process.execPath)} ${q(CLI)} ship ${flags.map(q).join(" ")} ${q(bundle.tarball)} @localhost`, { timeout: 120_000 });

  await t.test("v1 on an empty host: every layer travels, the container runs", () => {
    const result = ship(bundleOf("v1", archives.v1));
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.equal(sentOf(result.stderr).layers, "1 of 1");
    assert.match(result.stdout, /loading the image from the parts plc ship sent/);
    assert.equal(engine.get(PORT), "v1\n");
  });

  const v2 = bundleOf("v2", archives.v2);
  let layeredBytes = 0;
  await t.test("v2 sharing v1's base: only its top layer travels, far fewer bytes than the archive, and v2 runs", () => {
    const result = ship(v2);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    const sent = sentOf(result.stderr);
    assert.equal(sent.layers, "1 of 2");
    const archiveBytes = statSync(archives.v2).size;
    assert.ok(sent.bytes * 10 < archiveBytes, `sent ${String(sent.bytes)} bytes of a ${String(archiveBytes)}-byte archive`);
    assert.equal(engine.get(PORT), "v2\n");
    assert.equal(engine.docker(["run", "--rm", "--entrypoint", "cat", "app:v2", "/app/release.txt"]), "v2\n");
    layeredBytes = sent.bytes;
    t.diagnostic(`v2: sent ${String(sent.bytes)} bytes, archive ${String(archiveBytes)} bytes`);
  });

  await t.test("plc ship building now (--image-archive): the host has every layer, none travels", () => {
    const result = host.sh(
      `${q(process.execPath)} ${q(CLI)} ship --check --image-archive ${q(archives.v2)} image=app:v2 prefix=e2e instance=layers host_port=${String(PORT)} healthcheck_timeout=6 @localhost`,
      { timeout: 120_000 },
    );
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.equal(sentOf(result.stderr).layers, "0 of 2");
  });

  await t.test("--full-image sends the whole tarball, image.tar in it", () => {
    const result = ship(v2, "--full-image", "--check");
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.doesNotMatch(result.stderr, /image layers:/);
    assert.ok(sentOf(result.stderr).bytes > 10 * layeredBytes, result.stderr);
  });

  await t.test("a host missing a layer left out: install.sh stops in step 3 and nothing changed", () => {
    const v3 = bundleOf("v3", archives.v3);
    const before = host.snapshot([HOME], [`${HOME}/log`]);
    const parts = "/root/v3-parts";
    // The parts as plc ship would send them had the host listed v3's base: the bottom layer left out.
    host.must(
      `rm -rf ${parts} /root/v3 && mkdir -p ${parts} /root/v3 && tar -xf ${q(archives.v3)} -C ${parts} && ` +
        `tar -xzf ${q(v3.tarball)} -C /root/v3 && rm /root/v3/${NAME}/image.tar && ` +
        `rm ${parts}/"$(awk '$1 == "layer" { print $4; exit }' /root/v3/${NAME}/image.parts)"`,
    );
    const result = host.sh(`sh /root/v3/${NAME}/install.sh --image-parts ${parts}`);
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stderr, /docker on this host lacks layers plc ship left out of the image \(sha256:[0-9a-f]{64}\): ship again, or with plc ship --full-image \(nothing was changed\)/);
    assert.equal(host.snapshot([HOME], [`${HOME}/log`]), before);
    assert.equal(engine.get(PORT), "v2\n");
    assert.notEqual(engine.dockerResult(["image", "inspect", "app:v3"]).status, 0, "nothing was loaded");
  });

  await t.test("image parts that are not the bundle's: an altered file or one image.parts does not list is refused in step 3", () => {
    const before = host.snapshot([HOME], [`${HOME}/log`]);
    const parts = "/root/v3-parts";
    host.must(`rm -rf ${parts} && mkdir -p ${parts} && tar -xf ${q(archives.v3)} -C ${parts} && printf ' ' >>${parts}/manifest.json`);
    const altered = host.sh(`sh /root/v3/${NAME}/install.sh --image-parts ${parts}`);
    assert.notEqual(altered.status, 0, altered.stdout);
    assert.match(altered.stderr, /the image parts do not match image\.parts: a file was altered or is not the image's \(nothing was changed\)/);
    host.must(`rm -rf ${parts} && mkdir -p ${parts} && tar -xf ${q(archives.v3)} -C ${parts} && echo x >${parts}/extra`);
    const extra = host.sh(`sh /root/v3/${NAME}/install.sh --image-parts ${parts}`);
    assert.notEqual(extra.status, 0, extra.stdout);
    assert.match(extra.stderr, /the image parts do not match image\.parts/);
    assert.equal(host.snapshot([HOME], [`${HOME}/log`]), before);
    assert.equal(engine.get(PORT), "v2\n");
  });
  await t.test("over ssh (OpenSSH's sshd on the engine host): one connection lists the host's layers, then carries only the one it lacks", () => {
    // v4: FROM v2 plus one small file; the host has v2's two layers.
    const context4 = join(host.dir, "v4");
    mkdirSync(context4);
    writeFileSync(join(context4, "Dockerfile"), "FROM app:v2\nCOPY release.txt /app/release.txt\nENV APP_VERSION=v4\n");
    writeFileSync(join(context4, "release.txt"), "v4\n");
    host.must(`DOCKER_BUILDKIT=0 docker build --quiet --tag app:v4 ${q(context4)} >/dev/null`);
    const archive4 = archive("v4");
    const v4 = bundleOf("v4", archive4);
    engine.docker(["rmi", "app:v4"]);
    // sshd on the host's loopback, root logging in with a key: plc ship reaches it as any host.
    const ssh = join(host.dir, "ssh");
    mkdirSync(ssh);
    host.must(`ssh-keygen -q -t ed25519 -N '' -f ${q(join(ssh, "host_key"))} && ssh-keygen -q -t ed25519 -N '' -f ${q(join(ssh, "client_key"))}`);
    writeFileSync(
      join(ssh, "sshd_config"),
      ["ListenAddress 127.0.0.1:2222", `HostKey ${join(ssh, "host_key")}`, `PidFile ${join(ssh, "sshd.pid")}`, `AuthorizedKeysFile ${join(ssh, "client_key.pub")}`, "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "LogLevel VERBOSE", ""].join("\n"),
    );
    writeFileSync(join(ssh, "known_hosts"), `[127.0.0.1]:2222 ${readFileSync(join(ssh, "host_key.pub"), "utf8")}`);
    writeFileSync(
      join(ssh, "ssh_config"),
      ["Host engine", "  HostName 127.0.0.1", "  Port 2222", "  User root", `  IdentityFile ${join(ssh, "client_key")}`, "  IdentitiesOnly yes", `  UserKnownHostsFile ${join(ssh, "known_hosts")}`, "  GlobalKnownHostsFile /dev/null", ""].join("\n"),
    );
    host.must(`mkdir -p /run/sshd && chmod 0755 /run/sshd && /usr/sbin/sshd -f ${q(join(ssh, "sshd_config"))} -E ${q(join(ssh, "sshd.log"))}`);
    try {
      const result = host.sh(`${q(process.execPath)} ${q(CLI)} ship -F ${q(join(ssh, "ssh_config"))} ${q(v4.tarball)} @engine`, { timeout: 120_000 });
      assert.equal(result.status, 0, result.stderr + result.stdout);
      assert.equal(sentOf(result.stderr).layers, "1 of 3");
      assert.ok(sentOf(result.stderr).bytes * 10 < statSync(archive4).size, result.stderr);
      assert.equal(engine.get(PORT), "v4\n");
      const log = readFileSync(join(ssh, "sshd.log"), "utf8");
      assert.equal([...log.matchAll(/Accepted publickey for root/g)].length, 1, `one ssh connection: ${log}`);
    } finally {
      host.sh(`kill "$(cat ${q(join(ssh, "sshd.pid"))})"`);
    }
  });
});
