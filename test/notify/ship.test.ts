// plc ship's notifications against a real sshd: a loopback listener stands in for Slack and for a
// webhook; a deploy whose pre-deploy backup fails sends exactly that path's events, in order, with
// the CI job's fields; no token or URL ever reaches a command line; a dead target fails nothing.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CLI } from "../fixtures.js";
import { buildInto, freePort, requireShipTools, runAsync, SshClient } from "../ship/sandbox.js";
import { startListener, type Received } from "./listener.js";
import { watchArgv } from "../argv-watch.js";

const TOKEN = "xoxb-7-ship-token-never-in-argv";
const HOOK_SECRET = "ship-hook-never-in-argv";
const GITLAB = {
  GITLAB_CI: "true",
  CI_JOB_URL: "https://gitlab.example.com/ybs/mrs/-/jobs/4242",
  CI_COMMIT_SHA: "0123456789abcdef0123456789abcdef01234567",
  GITLAB_USER_LOGIN: "alice",
  CI_COMMIT_MESSAGE: "Fix the login page",
};

interface JsonEvent {
  event: string;
  status: string;
  host: string;
  release: string | null;
  project: string;
  image: string;
  detail: string | null;
  source: string;
  ci: { provider: string; job_url: string | null; commit: string | null; author: string | null; message: string | null } | null;
}

test("plc ship sends the deploy's events to Slack and a webhook", { timeout: 180_000 }, async (t) => {
  if (!requireShipTools(t)) return;
  const client = new SshClient();
  const listener = await startListener();
  t.after(async () => {
    client.close();
    await listener.close();
  });
  const host = await client.startHost();
  const httpPort = await freePort();
  const target = `@127.0.0.1:${host.port}`;
  const label = `127.0.0.1:${host.port}`;
  const base = `http://127.0.0.1:${listener.port}`;
  const spec = (hook: string): string[] => [
    "prefix=ybs",
    "instance=hack",
    "healthcheck_timeout=5",
    `host_port=${httpPort}`,
    "backup_password=pw",
    `slack_token=${TOKEN}`,
    "slack_channel=#deploys",
    `slack_api_url=${base}/slack/api`,
    `notify_webhook=${base}${hook}`,
    "notify_format=json",
  ];
  const ship = (bundle: string) =>
    watchArgv([TOKEN, HOOK_SECRET], () => runAsync(process.execPath, [CLI, "ship", bundle, target, "-F", client.config], { ...process.env, ...GITLAB }));
  const webhookEvents = (from: number): JsonEvent[] =>
    listener.received.slice(from).filter((request) => request.url.startsWith("/hook")).map((request) => JSON.parse(request.body) as JsonEvent);
  const slackColours = (from: number): string[] =>
    listener.received
      .slice(from)
      .filter((request: Received) => request.url === "/slack/api/chat.postMessage")
      .map((request) => (JSON.parse(request.body) as { attachments: { color: string }[] }).attachments[0]?.color ?? "");

  const first = await buildInto(join(client.dir, "dist1"), ["image=nginx:1.27", ...spec(`/hook/${HOOK_SECRET}`)]);
  const second = await buildInto(join(client.dir, "dist2"), ["image=nginx:1.28", ...spec(`/hook/${HOOK_SECRET}`)]);
  const releaseOf = (tarball: string): string => /-([0-9a-f]{12})\.tar\.gz$/.exec(tarball)?.[1] ?? "";

  await t.test("a first deploy: started, checks, succeeded", async () => {
    const { value: result, leaks } = await ship(first);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.deepEqual(leaks, []);
    const events = webhookEvents(0);
    assert.deepEqual(events.map((event) => event.event), ["deploy.started", "checks.succeeded", "deploy.succeeded"]);
    assert.deepEqual(slackColours(0), ["warning", "good", "good"]);
    for (const event of events) {
      assert.equal(event.host, label);
      assert.equal(event.release, releaseOf(first));
      assert.equal(event.project, "ybs-hack");
      assert.equal(event.source, "plc ship");
      assert.deepEqual(event.ci, { provider: "gitlab", job_url: GITLAB.CI_JOB_URL, commit: GITLAB.CI_COMMIT_SHA, author: "alice", message: GITLAB.CI_COMMIT_MESSAGE });
    }
    const slack = listener.received.find((request) => request.url === "/slack/api/chat.postMessage");
    assert.equal(slack?.headers["authorization"], `Bearer ${TOKEN}`);
  });

  await t.test("a deploy whose backup fails: exactly started, backup started, backup failed, deploy failed", async () => {
    // A repository restic cannot open: the pre-deploy backup fails and the deploy stops.
    host.sh("mkdir -p /home/ybs-hack/restic && printf 'not a restic config\\n' >/home/ybs-hack/restic/config");
    const from = listener.received.length;
    const { value: result, leaks } = await ship(second);
    assert.equal(result.status, 1, result.stderr + result.stdout);
    assert.match(result.stdout + result.stderr, /backup failed/);
    assert.deepEqual(leaks, [], "a token or webhook URL appeared in a command line");
    const events = webhookEvents(from);
    assert.deepEqual(events.map((event) => event.event), ["deploy.started", "backup.started", "backup.failed", "deploy.failed"]);
    assert.deepEqual(events.map((event) => event.status), ["started", "started", "failed", "failed"]);
    assert.deepEqual(slackColours(from), ["warning", "warning", "danger", "danger"]);
    for (const event of events) {
      assert.equal(event.release, releaseOf(second));
      assert.equal(event.image, "nginx:1.28");
      assert.equal(event.ci?.job_url, GITLAB.CI_JOB_URL);
    }
    assert.match(events[3]?.detail ?? "", /install\.sh failed/);
    assert.equal(host.read("/home/ybs-hack/docker-image").trim(), "nginx:1.27", "what ran before still runs");
  });

  await t.test("a target that fails is a warning: the deploy's result is its own", async () => {
    host.sh("rm -rf /home/ybs-hack/restic");
    const broken = await buildInto(join(client.dir, "dist3"), ["image=nginx:1.28", ...spec("/fail/hook"), `slack_api_url=${base}/slack-refuses/api`]);
    const { value: result } = await ship(broken);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stderr, /plc ship: warning: notification notify_webhook: deploy\.started not sent: HTTP 500/);
    assert.match(result.stderr, /plc ship: warning: notification slack: deploy\.succeeded not sent: Slack answered not_in_channel/);
    assert.ok(!result.stderr.includes("/fail/hook") && !result.stderr.includes(TOKEN));
  });

  await t.test("a deploy whose checks fail: the backup, the failed checks, the rollback, the failed deploy", async () => {
    // The docker shim's image that never answers its health check.
    const registry = join(host.dir, "state", "registry", "nginx_1.29");
    mkdirSync(registry, { recursive: true });
    writeFileSync(join(registry, "health"), "down");
    const unhealthy = await buildInto(join(client.dir, "dist4"), ["image=nginx:1.29", ...spec(`/hook/${HOOK_SECRET}`), "healthcheck_timeout=1"]);
    const from = listener.received.length;
    const { value: result, leaks } = await ship(unhealthy);
    assert.equal(result.status, 1, result.stderr + result.stdout);
    assert.deepEqual(leaks, []);
    const events = webhookEvents(from);
    assert.deepEqual(events.map((event) => event.event), ["deploy.started", "backup.started", "backup.succeeded", "checks.failed", "rollback", "deploy.failed"]);
    assert.deepEqual(slackColours(from), ["warning", "warning", "good", "danger", "warning", "danger"]);
    assert.equal(host.read("/home/ybs-hack/docker-image").trim(), "nginx:1.28");
  });
});
