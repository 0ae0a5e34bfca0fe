// An upgrade interrupted at every step: by a kill of the deploy itself (SIGKILL, then --repair), by the
// caller going away (SIGKILL of its process group, SIGHUP, a closed pipe), and by a full disk after
// the switch. Each time the host ends with either the old release running and current, or the new one
// checked and current, and nothing half-done left behind.
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SandboxHost, buildBundle, mustInstall, q, requireSandbox, unpack, type Bundle } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const V1 = "betagouv/mrs:v1";
const V2 = "betagouv/mrs:v2";
/** The health check's first question to docker: where a deploy is paused to be interrupted mid-way. */
const HEALTH_CHECK_CALL = `docker 'container' 'inspect' '--format' '{{.State.Running}}' '${NAME}'`;

function args(image: string, ...extra: string[]): string[] {
  return [`image=${image}`, "prefix=ybs", "instance=hack", "healthcheck_timeout=3", `env.RELEASE=${image}`, "env.TOKEN=t-" + image, "secret_env=TOKEN", ...extra];
}

/** What runs and what the host files say, in one line an assertion can compare. */
function hostState(host: SandboxHost): { current: string; image: string; container: string; running: boolean; token: string; body: string } {
  const current = host.sh(`readlink ${HOME}/current`).stdout.trim();
  const image = host.sh(`cat ${HOME}/docker-image`).stdout.trim();
  const container = host.container(NAME);
  const token = host.sh(`sed -n 's/^TOKEN=//p' ${HOME}/.secrets.env`).stdout.trim();
  const body = host.sh(`curl -sf --max-time 2 http://127.0.0.1:$(sed -n 's/.*127\\.0\\.0\\.1:\\([0-9]*\\):.*/\\1/p' ${HOME}/current/docker-run.sh)/`).stdout;
  return { current, image, container: container?.image ?? "none", running: container?.running ?? false, token, body };
}

/** Either the old release, whole, or the new one, whole. */
function assertWhole(host: SandboxHost, a: Bundle, b: Bundle, label: string): "old" | "new" {
  const state = hostState(host);
  const old = { current: `releases/${a.id}`, image: V1, container: V1, running: true, token: `t-${V1}`, body: "v1\n" };
  const next = { current: `releases/${b.id}`, image: V2, container: V2, running: true, token: `t-${V2}`, body: "v2\n" };
  const which = state.current === next.current ? "new" : "old";
  assert.deepEqual(state, which === "new" ? next : old, `${label}: ${JSON.stringify(state)}\ncalls:\n${host.calls().slice(-8).join("\n")}`);
  // Nothing half-done: no journal, no container set aside, no temporary files.
  assert.equal(host.sh(`ls -A ${HOME} | grep -E '^\\.deploy$|\\.new$|\\.undo$|\\.incoming$|\\.tmp$' ; ls ${HOME}/releases | grep tmp`).stdout, "", label);
  assert.equal(host.container(`${NAME}.plc-previous`), undefined, `${label}: a container was left aside`);
  return which;
}

/** Starts the upgrade to b with the docker shim pausing at its Nth call (or the first call holding a text); resolves once it paused (or ended). */
async function startPaused(host: SandboxHost, b: Bundle, dir: string, pause: number | string): Promise<{ done: Promise<unknown>; paused: boolean; sid: string }> {
  for (const file of ["pause.count", "paused", "resume"]) rmSync(join(host.state, file), { force: true });
  // setsid: the caller is a session of its own, so each paused call has one to kill.
  const run = host.spawn(`exec setsid sh ${q(`${dir}/install.sh`)} --secrets ${q(b.secrets)}`, {
    env: typeof pause === "number" ? { PLC_SHIM_PAUSE_AT: String(pause) } : { PLC_SHIM_PAUSE_MATCH: pause },
  });
  const progress = { ended: false };
  const done = run.done.then((result) => {
    progress.ended = true;
    return result;
  });
  const paused = join(host.state, "paused");
  for (let i = 0; i < 400 && !progress.ended && !existsSync(paused); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  const isPaused = existsSync(paused);
  return { done, paused: isPaused, sid: isPaused ? readFileSync(paused, "utf8").trim() : "" };
}

function resume(host: SandboxHost): void {
  writeFileSync(join(host.state, "resume"), "");
}

/** Waits until no install of the instance holds its lock: the detached deploy has ended. */
function waitForDeploy(host: SandboxHost): void {
  host.must(`flock -w 60 /run/lock/plc-${NAME}.lock true`);
}

async function upgradeHost(t: Parameters<typeof SandboxHost.start>[0], a: Bundle): Promise<SandboxHost> {
  const host = await SandboxHost.start(t);
  host.image(V1, { body: "v1\n" });
  host.image(V2, { body: "v2\n" });
  mustInstall(host, a);
  return host;
}

describe("an interrupted upgrade", () => {
  const a = buildBundle(args(V1));
  const b = buildBundle(args(V2));

  it("killed (SIGKILL) at each docker call of the deploy: --repair leaves the old or the new release whole", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await upgradeHost(t, a);
    const dir = unpack(host, b);
    // How many docker calls an upgrade makes, counted on a run that never pauses.
    const probe = await startPaused(host, b, dir, 100_000);
    await probe.done;
    const steps = Number(readFileSync(join(host.state, "pause.count"), "utf8"));
    assert.ok(steps >= 10, `an upgrade makes ${String(steps)} docker calls`);
    mustInstall(host, a);
    const seen = new Set<string>();
    for (let step = 1; step <= steps; step++) {
      const run = await startPaused(host, b, dir, step);
      assert.ok(run.paused, `step ${String(step)} was reached`);
      const call = host.calls().at(-1) ?? "";
      // The deploy runs in a session of its own: kill that whole session, shim included.
      host.must(`kill -KILL -${run.sid}`);
      await run.done;
      resume(host);
      const repair = host.sh(`sh ${q(`${dir}/install.sh`)} --repair`);
      assert.equal(repair.status, 0, `step ${String(step)} (${call}): ${repair.stderr}`);
      seen.add(assertWhole(host, a, b, `SIGKILL at step ${String(step)}: ${call}`));
      // Back to the old release for the next round.
      mustInstall(host, a);
    }
    // Early kills bring the old release back, late ones finish the new one.
    assert.deepEqual([...seen].sort(), ["new", "old"]);
  });

  it("killed (SIGKILL) in its health check, then --rollback: what ran before runs again, exit 0", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await upgradeHost(t, a);
    const dir = unpack(host, b);
    const run = await startPaused(host, b, dir, HEALTH_CHECK_CALL);
    assert.ok(run.paused);
    host.must(`kill -KILL -${run.sid}`);
    await run.done;
    resume(host);
    const rollback = host.sh(`${HOME}/current/install.sh --rollback`);
    assert.equal(rollback.status, 0, rollback.stderr);
    assert.match(rollback.stdout, /the interrupted deploy was undone/);
    assert.equal(assertWhole(host, a, b, "--rollback after a kill"), "old");
  });

  // The caller is a session of its own (setsid), as an ssh session is; the deploy pauses in its health
  // check while the caller goes away, then resumes.
  for (const [how, command, interrupt] of [
    ["SIGKILL of the caller's process group", "exec sh INSTALL", (pid: number) => `kill -KILL -${String(pid)}`],
    ["SIGHUP of the caller (terminal closed)", "exec sh INSTALL", (pid: number) => `kill -HUP ${String(pid)}`],
    ["a closed pipe (plc ship gone)", "sh INSTALL 2>&1 | head -c 1 >/dev/null", () => "true"],
  ] as const) {
    it(`${how} mid-deploy: the deploy finishes on its own, or brings the old release back when it fails`, async (t) => {
      if (!requireSandbox(t)) return;
      const host = await upgradeHost(t, a);
      host.image("betagouv/mrs:v3", { health: "down" });
      const c = buildBundle(args("betagouv/mrs:v3"));
      for (const [bundle, expected] of [[b, "new"], [c, "old"]] as const) {
        const dir = unpack(host, bundle);
        const pidFile = join(host.dir, "tmp", "caller.pid");
        rmSync(pidFile, { force: true });
        for (const file of ["pause.count", "paused", "resume"]) rmSync(join(host.state, file), { force: true });
        const install = `${q(`${dir}/install.sh`)} --secrets ${q(bundle.secrets)}`;
        const caller = host.spawn(`setsid sh -c ${q(`echo $$ >${pidFile}; ${command.replace("INSTALL", install)}`)}`, {
          env: { PLC_SHIM_PAUSE_MATCH: HEALTH_CHECK_CALL },
        });
        for (let i = 0; i < 400 && !existsSync(join(host.state, "paused")); i++) await new Promise((resolve) => setTimeout(resolve, 25));
        assert.ok(existsSync(join(host.state, "paused")), `${how}: the deploy reached its health check`);
        host.must(interrupt(Number(readFileSync(pidFile, "utf8"))));
        resume(host);
        await caller.done;
        waitForDeploy(host);
        if (expected === "new") {
          assert.equal(assertWhole(host, a, b, how), "new");
          assert.match(host.must(`cat ${HOME}/.deploys/*-${b.id}-install.out`), new RegExp(`deployed release ${b.id}`));
        } else {
          const state = hostState(host);
          assert.deepEqual([state.current, state.container, state.running], [`releases/${b.id}`, V2, true], how);
          assert.match(host.must(`cat ${HOME}/.deploys/*-${c.id}-install.err`), /no healthy answer/);
        }
      }
    });
  }

  it("a full disk after the switch: the new release is live, the error says so, and the next install.sh finishes it", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await upgradeHost(t, a);
    const dir = unpack(host, b);
    // logrotate.d is written after the switch: make it a full file system.
    host.must("mount -t tmpfs -o size=4k plc-full /etc/logrotate.d && dd if=/dev/zero of=/etc/logrotate.d/fill bs=4k count=1 2>/dev/null; true");
    const failed = host.sh(`sh ${q(`${dir}/install.sh`)} --secrets ${q(b.secrets)}`);
    assert.equal(failed.status, 1, failed.stdout);
    assert.match(failed.stderr, new RegExp(`release ${b.id} is live, but finishing its installation failed`));
    assert.doesNotMatch(failed.stderr, /bringing back|restarted the previous release/);
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${b.id}`);
    host.must("rm -f /etc/logrotate.d/fill");
    const finished = host.must(`sh ${q(`${dir}/install.sh`)} --secrets ${q(b.secrets)}`);
    assert.match(finished, new RegExp(`finishing the interrupted deploy of release ${b.id}`));
    assert.equal(assertWhole(host, a, b, "after the disk was freed"), "new");
    assert.equal(host.must(`tail -n 1 ${HOME}/releases.log`).trim(), `${b.id} ${V2}`);
    assert.ok(host.exists(`/etc/logrotate.d/${NAME}`));
  });
});
