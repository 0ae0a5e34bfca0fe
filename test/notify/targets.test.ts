// Notification payloads and the sender, without a network: Slack's chat.postMessage shape, playlabs'
// colours, the token forms Ansible's slack module read, the JSON event, CI context, failures reported.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, it } from "node:test";
import { readCiContext } from "../../compiler/notify/ci.js";
import { COLOURS, EVENT_NAMES, type NotifyEvent } from "../../compiler/notify/events.js";
import { Notifier } from "../../compiler/notify/send.js";
import { jsonPayload, requestsFor, type NotifyConfig } from "../../compiler/notify/targets.js";
import { CLI } from "../fixtures.js";
import { startListener } from "./listener.js";

const SUBJECT = { project: "ybs-hack", prefix: "ybs", instance: "hack", image: "betagouv/mrs:master", dns: ["ybs.example.com"] };
const CONFIG: NotifyConfig = { subject: SUBJECT, slack: { channel: "deploys", icon: "https://example.com/icon.png", api: "https://slack.test/api" }, webhook: { format: "json" } };
const CI = { provider: "gitlab" as const, jobUrl: "https://gitlab.example.com/g/p/-/jobs/42", commit: "0123abcd", author: "alice", message: "Fix the login page" };

function event(name: NotifyEvent["event"], extra: Partial<NotifyEvent> = {}): NotifyEvent {
  return { event: name, subject: SUBJECT, host: "web1", release: "0123456789ab", detail: undefined, time: "2026-12-01T00:00:00.000Z", source: "plc ship", ci: CI, ...extra };
}

// chat.postMessage's arguments (https://api.slack.com/methods/chat.postMessage) and an attachment's fields.
const POST_MESSAGE_ARGUMENTS = new Set(["channel", "text", "attachments", "blocks", "username", "icon_url", "icon_emoji", "as_user", "link_names", "mrkdwn", "parse", "reply_broadcast", "thread_ts", "unfurl_links", "unfurl_media", "metadata"]);
const ATTACHMENT_FIELDS = new Set(["color", "text", "fallback", "mrkdwn_in", "pretext", "title", "title_link", "fields", "footer", "ts"]);

describe("Slack", () => {
  it("an xox token posts chat.postMessage's shape, with a bearer token, to the channel", () => {
    for (const name of EVENT_NAMES) {
      const [request, ...rest] = requestsFor(event(name), { ...CONFIG, webhook: undefined }, { slackToken: "xoxb-1-2-abc", webhookUrl: undefined });
      assert.equal(rest.length, 0);
      assert.ok(request !== undefined);
      assert.equal(request.url, "https://slack.test/api/chat.postMessage");
      assert.equal(request.headers["Authorization"], "Bearer xoxb-1-2-abc");
      assert.equal(request.headers["Content-Type"], "application/json; charset=utf-8");
      assert.equal(request.isSlackApi, true);
      const body = JSON.parse(request.body) as Record<string, unknown>;
      for (const key of Object.keys(body)) assert.ok(POST_MESSAGE_ARGUMENTS.has(key), `${key} is not a chat.postMessage argument`);
      assert.equal(body["channel"], "#deploys", "a bare channel name gets its #, as the slack module did");
      assert.equal(body["icon_url"], "https://example.com/icon.png");
      assert.equal(typeof body["username"], "string");
      const attachments = body["attachments"] as Record<string, unknown>[];
      assert.equal(attachments.length, 1);
      const [attachment = {}] = attachments;
      for (const key of Object.keys(attachment)) assert.ok(ATTACHMENT_FIELDS.has(key), `${key} is not an attachment field`);
      assert.equal(attachment["color"], COLOURS[name]);
      assert.match(String(attachment["text"]), /^ybs-hack: /);
      assert.equal(attachment["fallback"], attachment["text"]);
      assert.ok(!request.body.includes("xoxb"), "the token travels in the header only");
    }
  });

  it("keeps playlabs' colours: starts warning, successes good, failures danger", () => {
    assert.deepEqual(
      Object.fromEntries(["deploy.started", "backup.started", "backup.failed", "deploy.succeeded", "checks.succeeded", "checks.failed"].map((name) => [name, COLOURS[name as NotifyEvent["event"]]])),
      { "deploy.started": "warning", "backup.started": "warning", "backup.failed": "danger", "deploy.succeeded": "good", "checks.succeeded": "good", "checks.failed": "danger" },
    );
  });

  it("the deploy start carries the CI job's author, URL, commit and message, as playlabs' did", () => {
    const [request] = requestsFor(event("deploy.started"), CONFIG, { slackToken: "xoxb-1", webhookUrl: undefined });
    const text = String((JSON.parse(request?.body ?? "{}") as { attachments: { text: string }[] }).attachments[0]?.text);
    assert.equal(text, "ybs-hack: alice deploying betagouv/mrs:master on ybs.example.com (web1)\nhttps://gitlab.example.com/g/p/-/jobs/42\n0123abcd\nFix the login page");
  });

  it("a webhook path token posts to hooks.slack.com, a URL token to itself, without Authorization", () => {
    const path = requestsFor(event("backup.failed"), CONFIG, { slackToken: "T000/B000/XXXX", webhookUrl: undefined })[0];
    assert.equal(path?.url, "https://hooks.slack.com/services/T000/B000/XXXX");
    assert.equal(path.headers["Authorization"], undefined);
    assert.equal(path.isSlackApi, false);
    const url = requestsFor(event("backup.failed"), CONFIG, { slackToken: "https://hooks.slack.com/services/T1/B1/Y", webhookUrl: undefined })[0];
    assert.equal(url?.url, "https://hooks.slack.com/services/T1/B1/Y");
  });
});

describe("webhooks", () => {
  it("several targets at once: Slack, then the webhook with the JSON event", () => {
    const requests = requestsFor(event("checks.failed", { detail: "no healthy answer" }), CONFIG, { slackToken: "xoxb-1", webhookUrl: "https://hooks.example.com/secret-path" });
    assert.deepEqual(requests.map((request) => request.target), ["slack", "notify_webhook"]);
    const body = JSON.parse(requests[1]?.body ?? "") as Record<string, unknown>;
    assert.deepEqual(body, jsonPayload(event("checks.failed", { detail: "no healthy answer" })));
    assert.equal(body["event"], "checks.failed");
    assert.equal(body["status"], "failed");
    assert.equal(body["host"], "web1");
    assert.equal(body["release"], "0123456789ab");
    assert.deepEqual(body["ci"], { provider: "gitlab", job_url: CI.jobUrl, commit: CI.commit, author: CI.author, message: CI.message });
  });

  it("notify_format slack gives a Slack-compatible incoming webhook body (Mattermost, Rocket.Chat)", () => {
    const [request] = requestsFor(event("rollback"), { ...CONFIG, slack: undefined, webhook: { format: "slack" } }, { slackToken: undefined, webhookUrl: "https://chat.example.com/hooks/x" });
    const body = JSON.parse(request?.body ?? "") as { attachments: { color: string }[]; channel?: string };
    assert.equal(body.attachments[0]?.color, "warning");
    assert.equal(body.channel, undefined, "no channel: the webhook's own");
  });
});

describe("CI context", () => {
  it("GitLab CI: job URL, commit, GITLAB_USER_LOGIN and the message", () => {
    const env = { GITLAB_CI: "true", CI_JOB_URL: "https://gl/j/1", CI_COMMIT_SHA: "abc", GITLAB_USER_LOGIN: "bob", CI_COMMIT_MESSAGE: "Subject\n\nBody\n" };
    assert.deepEqual(readCiContext(env, () => undefined), { provider: "gitlab", jobUrl: "https://gl/j/1", commit: "abc", author: "bob", message: "Subject\n\nBody" });
  });

  it("GitHub Actions: the run's URL, GITHUB_SHA, GITHUB_ACTOR, the message from the event payload", () => {
    const env = { GITHUB_ACTIONS: "true", GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "o/r", GITHUB_RUN_ID: "77", GITHUB_SHA: "def", GITHUB_ACTOR: "carol", GITHUB_EVENT_PATH: "/e.json" };
    const context = readCiContext(env, (path) => (path === "/e.json" ? JSON.stringify({ head_commit: { message: "Ship it" } }) : undefined));
    assert.deepEqual(context, { provider: "github", jobUrl: "https://github.com/o/r/actions/runs/77", commit: "def", author: "carol", message: "Ship it" });
  });

  it("outside CI: none", () => {
    assert.equal(readCiContext({ PATH: "/bin" }, () => undefined), undefined);
  });
});

describe("sending", () => {
  it("keeps the order of events, and reports a failing target by name, never by URL or token", async () => {
    const listener = await startListener();
    try {
      const base = `http://127.0.0.1:${listener.port}`;
      const problems: string[] = [];
      const notifier = new Notifier(
        { ...CONFIG, slack: { channel: "deploys", icon: undefined, api: `${base}/slack-refuses/api` } },
        { slackToken: "xoxb-secret-token", webhookUrl: `${base}/fail/secret-path` },
        (problem) => problems.push(problem),
      );
      for (const name of ["deploy.started", "backup.started", "backup.failed", "deploy.failed"] as const) notifier.send(event(name));
      await notifier.flush();
      assert.deepEqual(
        listener.received.map((request) => `${request.url.startsWith("/fail") ? "webhook" : "slack"} ${(JSON.parse(request.body) as { event?: string }).event ?? "slack"}`),
        ["slack slack", "webhook deploy.started", "slack slack", "webhook backup.started", "slack slack", "webhook backup.failed", "slack slack", "webhook deploy.failed"],
      );
      assert.equal(problems.length, 8);
      assert.match(problems[0] ?? "", /^slack: deploy\.started not sent: Slack answered not_in_channel$/);
      assert.match(problems[1] ?? "", /^notify_webhook: deploy\.started not sent: HTTP 500$/);
      for (const problem of problems) assert.ok(!problem.includes("secret"), problem);
    } finally {
      await listener.close();
    }
  });

  it("an unreachable target is reported, not thrown", async () => {
    const listener = await startListener();
    await listener.close();
    const problems: string[] = [];
    const notifier = new Notifier({ ...CONFIG, slack: undefined }, { slackToken: undefined, webhookUrl: `http://127.0.0.1:${listener.port}/x` }, (problem) => problems.push(problem));
    notifier.send(event("deploy.succeeded"));
    await notifier.flush();
    assert.deepEqual(problems, ["notify_webhook: deploy.succeeded not sent: ECONNREFUSED"]);
  });
});

describe("build", () => {
  const plc = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  const TOKEN = "xoxb-42-build-secret-token";
  const WEBHOOK = "https://hooks.example.com/services/very-secret-path";
  const SPEC = ["image=betagouv/mrs:master", "prefix=ybs", "instance=hack", "backup_password=pw", `slack_token=${TOKEN}`, "slack_channel=#deploys", `notify_webhook=${WEBHOOK}`];

  it("the token and webhook URL go to the secrets file, never the tarball; plc check masks them", () => {
    const out = mkdtempSync(join(tmpdir(), "plc-notify-"));
    const built = plc(["build", "-o", out, ...SPEC]);
    assert.equal(built.status, 0, built.stderr);
    const tarball = readdirSync(out).find((file) => file.endsWith(".tar.gz")) ?? "";
    const bytes = gunzipSync(readFileSync(join(out, tarball))).toString("latin1");
    assert.ok(!bytes.includes(TOKEN) && !bytes.includes("very-secret-path"), "a notification secret is in the tarball");
    assert.ok(bytes.includes("notify.sh") && bytes.includes("notify-ybs-hack@.service"));
    const secrets = readFileSync(join(out, tarball.replace(/\.tar\.gz$/, ".secrets.env")), "utf8");
    assert.match(secrets, new RegExp(`^PLC_SLACK_TOKEN=${TOKEN}$`, "m"));
    assert.match(secrets, /^PLC_NOTIFY_WEBHOOK=/m);
    const dryRun = plc(["ship", join(out, tarball), "@somewhere.invalid", "--dry-run"]);
    assert.equal(dryRun.status, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /events of the deploy sent from here to slack, notify_webhook \(slack\)/);
    assert.ok(!dryRun.stdout.includes(TOKEN) && !dryRun.stdout.includes("very-secret-path"));
    const check = plc(["check", ...SPEC]);
    assert.equal(check.status, 0, check.stderr);
    assert.ok(!check.stdout.includes(TOKEN) && !check.stdout.includes("very-secret-path"), check.stdout);
  });

  it("an API token without a channel is a located exit 2, nothing written", () => {
    const out = mkdtempSync(join(tmpdir(), "plc-notify-"));
    const result = plc(["build", "-o", out, "image=betagouv/mrs:master", `slack_token=${TOKEN}`]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /argv\[\d\]/);
    assert.match(result.stderr, /slack_channel is missing/);
    assert.deepEqual(readdirSync(out), []);
  });

  it("no target, no notify.sh and no OnFailure=", () => {
    const out = mkdtempSync(join(tmpdir(), "plc-notify-"));
    assert.equal(plc(["build", "-o", out, "image=betagouv/mrs:master", "backup_password=pw"]).status, 0);
    const tarball = readdirSync(out).find((file) => file.endsWith(".tar.gz")) ?? "";
    const bytes = gunzipSync(readFileSync(join(out, tarball))).toString("latin1");
    // install.sh names notify.sh and its unit in any case, to remove them when a release drops notifications.
    assert.ok(!bytes.includes("project-staging/notify.sh") && !bytes.includes("project-staging/notify.json") && !bytes.includes("OnFailure="));
  });
});
