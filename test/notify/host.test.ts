// The host's side: a failed backup timer's OnFailure= unit runs notify.sh, which posts to Slack and a
// webhook (a listener inside the sandbox's own network namespace) with the bodies plc ship sends, the
// token and URL only in 0600 files; a failing target is reported and changes nothing else.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { NotifyEvent } from "../../compiler/notify/events.js";
import { jsonPayload, slackPayload } from "../../compiler/notify/targets.js";
import { SandboxHost, buildBundle, mustInstall, q, requireSandbox } from "../host/sandbox.js";
import { LISTENER_SCRIPT, type Received } from "./listener.js";
import { watchArgv } from "../argv-watch.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const IMAGE = "betagouv/mrs:v1";
const TOKEN = "xoxb-4242-host-token-never-in-argv";
const HOOK_SECRET = "hook-path-never-in-argv";
const PORT = 8931;
const SUBJECT = { project: NAME, prefix: "ybs", instance: "hack", image: IMAGE, dns: [] as string[] };

function spec(webhookPath: string): string[] {
  return [
    `image=${IMAGE}`,
    "prefix=ybs",
    "instance=hack",
    "backup_password=pw",
    "healthcheck_timeout=5",
    `slack_token=${TOKEN}`,
    "slack_channel=deploys",
    `slack_api_url=http://127.0.0.1:${PORT}/slack/api`,
    `notify_webhook=http://127.0.0.1:${PORT}${webhookPath}`,
    "notify_format=json",
  ];
}

/** The listener, inside the sandbox's network namespace (the host reaches nothing else). */
async function listen(host: SandboxHost): Promise<() => Received[]> {
  const file = join(host.dir, "received.jsonl");
  const { child } = host.spawn(`exec ${q(process.execPath)} ${q(LISTENER_SCRIPT)} ${PORT} ${q(file)}`);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening")) resolve();
    });
    child.on("exit", (code) => { reject(new Error(`listener exited ${String(code)}`)); });
  });
  return () => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Received) : []);
}

async function installed(t: TestContext, webhookPath: string): Promise<{ host: SandboxHost; received: () => Received[] }> {
  const host = await SandboxHost.start(t);
  host.image(IMAGE, { body: "v1\n" });
  const received = await listen(host);
  mustInstall(host, buildBundle(spec(webhookPath)));
  // A repository restic cannot open: every backup fails.
  host.must(`mkdir -p ${HOME}/restic && printf 'not a restic config\\n' >${HOME}/restic/config`);
  return { host, received };
}

describe("notifications from the host", () => {
  it("a failed backup timer posts backup.failed to Slack and the webhook, with ship's bodies, nothing in argv", async (t) => {
    if (!requireSandbox(t, "restic", "systemd-analyze")) return;
    const { host, received } = await installed(t, `/hook/${HOOK_SECRET}`);
    assert.ok(host.exists(`${HOME}/notify.sh`), "notify.sh is linked into the home");
    const verify = host.sh(`cd /etc/systemd/system && systemd-analyze verify backup-${NAME}.service prune-${NAME}.service notify-${NAME}@backup.failed.service`);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr, "");

    // Started in the background, so the watcher samples every process while the units run.
    const { value: result, leaks } = await watchArgv([TOKEN, HOOK_SECRET], () => host.spawn(`systemctl start backup-${NAME}.service`).done);
    assert.deepEqual(leaks, [], "a token or webhook URL appeared in a command line");
    assert.equal(result.status, 1, "the backup's own failure stands");

    const runs = join(host.state, "systemd", "runs");
    assert.equal(readFileSync(join(runs, `backup-${NAME}.service.status`), "utf8").trim(), "1");
    assert.equal(readFileSync(join(runs, `notify-${NAME}@backup.failed.service.status`), "utf8").trim(), "0", readFileSync(join(runs, `notify-${NAME}@backup.failed.service.log`), "utf8"));

    const hostname = host.must("hostname").trim();
    const release = host.must(`basename "$(readlink ${HOME}/current)"`).trim();
    const event: NotifyEvent = { event: "backup.failed", subject: SUBJECT, host: hostname, release, detail: undefined, time: "", source: "host", ci: undefined };
    const requests = received();
    assert.deepEqual(requests.map((request) => `${request.method} ${request.url}`), ["POST /slack/api/chat.postMessage", `POST /hook/${HOOK_SECRET}`]);
    const [slack, hook] = requests;
    assert.equal(slack?.headers["authorization"], `Bearer ${TOKEN}`);
    assert.equal(slack.headers["content-type"], "application/json; charset=utf-8");
    assert.deepEqual(JSON.parse(slack.body), slackPayload(event, { channel: "deploys", icon: undefined }));
    const body = JSON.parse(hook?.body ?? "") as Record<string, unknown>;
    assert.match(String(body["time"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual({ ...body, time: "" }, jsonPayload(event));
    assert.equal(hook?.headers["authorization"], undefined, "the webhook gets no token");
  });

  it("any text reaches the JSON body intact: quotes, backslashes, lines (dash and busybox sh)", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    for (const shell of ["dash", "busybox"] as const) {
      const host = await SandboxHost.start(t, { shell });
      host.image(IMAGE, { body: "v1\n" });
      const received = await listen(host);
      mustInstall(host, buildBundle(spec("/hook/x")));
      const detail = `expires "soon" \\ o'clock $(id)\nsecond\tline`;
      host.must(`${HOME}/notify.sh tls.expiring ${q(detail)}`);
      const hook = received().find((request) => request.url === "/hook/x");
      const body = JSON.parse(hook?.body ?? "{}") as { detail?: string; message?: string; event?: string };
      assert.equal(body.event, "tls.expiring", shell);
      assert.equal(body.detail, `expires "soon" \\ o'clock $(id)\nsecond line`, `${shell}: tabs become spaces, the rest is kept`);
      assert.ok(body.message?.endsWith(`\n${body.detail ?? ""}`), shell);
    }
  });

  it("a target that fails is reported in the unit's log and exit status; the backup's result is unchanged", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const { host, received } = await installed(t, "/fail/hook");
    const result = host.sh(`systemctl start backup-${NAME}.service`);
    assert.equal(result.status, 1);
    const runs = join(host.state, "systemd", "runs");
    assert.equal(readFileSync(join(runs, `backup-${NAME}.service.status`), "utf8").trim(), "1");
    assert.equal(readFileSync(join(runs, `notify-${NAME}@backup.failed.service.status`), "utf8").trim(), "1");
    const log = readFileSync(join(runs, `notify-${NAME}@backup.failed.service.log`), "utf8");
    assert.match(log, /notify\.sh: error: notify_webhook: backup\.failed not sent: .*500/);
    assert.ok(!log.includes("/fail/hook") && !log.includes(TOKEN), log);
    assert.deepEqual(received().map((request) => request.url), ["/slack/api/chat.postMessage", "/fail/hook"], "Slack still got it");
    assert.equal(host.sh(`ls /tmp | grep plc-notify-${NAME}`).stdout, "", "no temporary file left");
  });
});
