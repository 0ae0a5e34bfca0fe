// A bare image's life on the real engine: first deploy, redeploy, upgrade, refused upgrades that roll
// back, --rollback, a dockerd restart, env values byte for byte, a port already taken, uninstall.
// One engine for the whole file: the steps build on each other, as deploys on a host do.
import assert from "node:assert/strict";
import { it } from "node:test";
import { buildBundle, install, mustInstall, q } from "../host/sandbox.js";
import { EngineHost, requireEngine } from "./engine.js";

const NAME = "e2e-a";
const HOME = `/home/${NAME}`;
const PORT = 28001;
const base = (image: string, ...more: string[]): string[] => [`image=${image}`, "prefix=e2e", "instance=a", `host_port=${String(PORT)}`, "healthcheck_timeout=6", ...more];

it("an app's life on a real docker engine", async (t) => {
  if (!requireEngine(t)) return;
  const engine = await EngineHost.start(t);
  const { host } = engine;
  engine.appImage("app:v1", { version: "v1" });
  engine.appImage("app:v2", { version: "v2", user: "1000:1000" });
  engine.appImage("app:v3", { version: "v3", mode: "wrong-port" });
  engine.appImage("app:v4", { version: "v4", mode: "crash" });
  const v1 = buildBundle(base("app:v1"));
  const appLog = (): string => host.read(`${HOME}/log/app.log`);

  await t.test("first deploy of an image only this host has: the pull fails (no registry), the deploy does not", () => {
    assert.notEqual(engine.dockerResult(["pull", "app:v1"]).status, 0, "a registry answered: the test proves nothing");
    const result = install(host, v1);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /deployed release/);
    assert.match(result.stderr, /warning: docker pull app:v1 failed; deploying the copy this host has/);
    assert.equal(engine.get(PORT), "v1\n");
  });

  await t.test("the container as the engine shows it: loopback port, restart policy, label, network, bind mount, bounded logs", () => {
    assert.equal(engine.inspect(NAME, "{{json .HostConfig.PortBindings}}"), '{"8000/tcp":[{"HostIp":"127.0.0.1","HostPort":"28001"}]}');
    assert.equal(engine.inspect(NAME, "{{.HostConfig.RestartPolicy.Name}}"), "unless-stopped");
    assert.equal(engine.inspect(NAME, '{{index .Config.Labels "plc.instance"}}'), NAME);
    assert.equal(engine.inspect(NAME, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}"), NAME);
    assert.match(engine.inspect(NAME, "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}};{{end}}"), new RegExp(`bind ${HOME}/log /app/log;`));
    // json-file logs grow without end unless bounded; plc's logrotate covers only <home>/log.
    const log = JSON.parse(engine.inspect(NAME, "{{json .HostConfig.LogConfig}}")) as { Type: string; Config: Record<string, string> };
    assert.equal(log.Type, "json-file");
    assert.equal(log.Config["max-size"], "10m");
    assert.equal(log.Config["max-file"], "3");
  });

  await t.test("the app runs as the image's user and writes its chowned log directory", () => {
    assert.equal(engine.get(PORT, "/id.txt"), "1000:1000\n");
    assert.equal(host.must(`stat -c %u:%g ${q(`${HOME}/log`)}`).trim(), "1000:1000");
    assert.match(appLog(), /start v1 uid=1000/);
  });

  await t.test("a redeploy stops the running container with its stop signal, not SIGKILL", () => {
    mustInstall(host, v1);
    assert.equal(engine.get(PORT), "v1\n");
    assert.match(appLog(), /stop TERM v1/, "docker rm -f killed the app without a signal it can handle");
  });

  await t.test("the docker run that starts the container holds none of plc's lock descriptors", () => {
    // dockerd starts containers itself, but a CLI that forks their monitor (podman's conmon) hands
    // it whatever the caller left open: install.sh's lock on fd 9 would outlive the deploy.
    const real = host.must("command -v docker").trim();
    host.put(
      "/usr/local/sbin/docker",
      `#!/bin/sh\ncase "$1 $2" in "run --detach") ls /proc/$$/fd | tr '\\n' ' ' >>/run/docker-run-fds; echo >>/run/docker-run-fds ;; esac\nexec ${real} "$@"\n`,
      0o755,
    );
    try {
      mustInstall(host, v1);
    } finally {
      host.must("rm /usr/local/sbin/docker");
    }
    const fds = host.read("/run/docker-run-fds").trim().split(/\s+/);
    assert.ok(fds.includes("0") && !fds.includes("9") && !fds.includes("8"), `open descriptors: ${fds.join(" ")}`);
  });

  await t.test("upgrade to v2 (Config.User uid:gid)", () => {
    mustInstall(host, buildBundle(base("app:v2")));
    assert.equal(engine.get(PORT), "v2\n");
  });

  await t.test("an image that never answers on its port is refused and v2 runs again", () => {
    const result = install(host, buildBundle(base("app:v3", "healthcheck_timeout=3")));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /no healthy answer/);
    assert.equal(engine.get(PORT), "v2\n");
    assert.equal(host.read(`${HOME}/docker-image`), "app:v2\n");
    assert.equal(engine.inspect(NAME, "{{.Config.Image}}"), "app:v2");
  });

  await t.test("an image that crashes at once is refused and v2 runs again", () => {
    const result = install(host, buildBundle(base("app:v4", "healthcheck_timeout=3")));
    assert.notEqual(result.status, 0);
    assert.equal(engine.get(PORT), "v2\n");
    assert.equal(engine.inspect(NAME, "{{.Config.Image}}"), "app:v2");
  });

  await t.test("install.sh --rollback goes back to v1", () => {
    host.must(`sh ${q(`${HOME}/current/install.sh`)} --rollback`);
    assert.equal(engine.inspect(NAME, "{{.Config.Image}}"), "app:v1");
    host.must(`i=0; until curl -sf http://127.0.0.1:${String(PORT)}/ >/dev/null; do i=$((i + 1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done`);
    assert.equal(engine.get(PORT), "v1\n");
  });

  await t.test("the container comes back after dockerd restarts (restart policy)", () => {
    engine.stopDaemon();
    engine.startDaemon();
    host.must(`i=0; until curl -sf http://127.0.0.1:${String(PORT)}/ >/dev/null; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done`);
    assert.equal(engine.get(PORT), "v1\n");
  });

  await t.test("env values reach the container byte for byte (docker inspect .Config.Env)", () => {
    const env = {
      PLAIN: `a b "c" $HOME \`id\` \\x 'q' ünï`,
      EMPTY: "",
      PEM: "-----BEGIN KEY-----\nabc$def\n  indented \\n\n-----END KEY-----\n",
      TRAIL: "ends with spaces  ",
    };
    const bundle = buildBundle(["image=app:v1", "prefix=e2e", "instance=w", "host_port=28004", JSON.stringify({ env, secret_env: ["PEM"] })]);
    mustInstall(host, bundle);
    const got = JSON.parse(engine.inspect("e2e-w", "{{json .Config.Env}}")) as string[];
    for (const [key, value] of Object.entries(env)) assert.ok(got.includes(`${key}=${value}`), `${key} differs: ${JSON.stringify(got)}`);
  });

  await t.test("a port already taken: the deploy fails and leaves no container and no network behind", () => {
    const result = install(host, buildBundle(["image=app:v1", "prefix=e2e", "instance=x", `host_port=${String(PORT)}`]));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /port is already allocated/);
    assert.equal(engine.docker(["ps", "-aq", "--filter", "name=^/e2e-x$"]), "");
    assert.notEqual(engine.dockerResult(["network", "inspect", "e2e-x"]).status, 0, "the failed first deploy left its network");
    assert.equal(engine.get(PORT), "v1\n");
  });

  await t.test("uninstall.sh removes the container and network and keeps the data; --purge removes the home", () => {
    const stops = (): number => appLog().split("\n").filter((line) => / stop TERM /.test(line)).length;
    const before = stops();
    host.must(`${HOME}/uninstall.sh`);
    assert.equal(stops(), before + 1, "uninstall.sh killed the app without its stop signal");
    assert.equal(engine.docker(["ps", "-aq", "--filter", `label=plc.instance=${NAME}`]), "");
    assert.notEqual(engine.dockerResult(["network", "inspect", NAME]).status, 0);
    assert.ok(host.exists(`${HOME}/log/app.log`));
    assert.ok(!host.exists(`/etc/logrotate.d/${NAME}`));
    host.must(`${HOME}/uninstall.sh --purge`);
    assert.ok(!host.exists(HOME));
  });
});
