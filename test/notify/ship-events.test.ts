// How plc ship turns the stream of phases and install.sh's marks into events, host by host, without ssh.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diagnostic } from "../../compiler/diagnostics.js";
import { shipNotifications, type NotifyPlan } from "../../compiler/notify/ship.js";
import type { Post } from "../../compiler/notify/send.js";
import type { ShipResult } from "../../compiler/ship/transport.js";

const SUBJECT = { project: "ybs-hack", prefix: "ybs", instance: "hack", image: "app:1", dns: [] };
const NOTIFY = { config: { subject: SUBJECT, slack: undefined, webhook: { format: "json" as const } }, secrets: { slackToken: undefined, webhookUrl: "https://hooks.example.com/x" } };

function recorder(): { post: Post; sent: { host: string; event: string }[] } {
  const sent: { host: string; event: string }[] = [];
  const post: Post = (request) => {
    const body = JSON.parse(request.body) as { host: string; event: string };
    sent.push({ host: body.host, event: body.event });
    return Promise.resolve({ status: 200, body: "ok" });
  };
  return { post, sent };
}

function result(label: string, isOk: boolean): ShipResult {
  return { label, isOk, durationMs: 1, bytesSent: 1, phase: isOk ? "done" : "connecting", diagnostic: isOk ? undefined : diagnostic("ssh-connect", { host: label, said: "Connection refused", command: `ssh ${label} true` }), httpsUrl: undefined };
}

describe("plc ship's events", () => {
  it("each host's events go out in the order its stream gave them; unknown marks are ignored", async () => {
    const { post, sent } = recorder();
    const plans: NotifyPlan[] = [
      { label: "a", release: "aaaaaaaaaaaa", notify: NOTIFY },
      { label: "b", release: "bbbbbbbbbbbb", notify: NOTIFY },
      { label: "quiet", release: "cccccccccccc", notify: undefined },
    ];
    const notifications = shipNotifications(plans, undefined, () => undefined, post);
    assert.ok(notifications !== undefined);
    notifications.observe({ kind: "phase", label: "a", phase: "verified", detail: "" });
    notifications.observe({ kind: "phase", label: "a", phase: "installing", detail: "" });
    notifications.observe({ kind: "phase", label: "b", phase: "installing", detail: "" });
    notifications.observe({ kind: "event", label: "a", name: "checks.succeeded", detail: "" });
    notifications.observe({ kind: "event", label: "a", name: "made.up", detail: "" });
    notifications.observe({ kind: "phase", label: "quiet", phase: "installing", detail: "" });
    notifications.finish(result("a", true));
    notifications.finish(result("b", false));
    notifications.finish(result("quiet", true));
    await notifications.flush();
    // Hosts are independent queues: the order is per host.
    const of = (host: string): string[] => sent.filter((one) => one.host === host).map((one) => one.event);
    assert.deepEqual(of("a"), ["deploy.started", "checks.succeeded", "deploy.succeeded"]);
    assert.deepEqual(of("b"), ["deploy.started", "deploy.failed"]);
    assert.deepEqual(of("quiet"), []);
  });

  it("a host never reached gets deploy.failed alone, with the reason", async () => {
    const bodies: string[] = [];
    const post: Post = (request) => {
      bodies.push(request.body);
      return Promise.resolve({ status: 200, body: "" });
    };
    const notifications = shipNotifications([{ label: "down", release: "dddddddddddd", notify: NOTIFY }], undefined, () => undefined, post);
    notifications?.observe({ kind: "phase", label: "down", phase: "connecting", detail: "" });
    notifications?.finish(result("down", false));
    await notifications?.flush();
    assert.deepEqual(bodies.map((body) => (JSON.parse(body) as { event: string; detail: string }).event), ["deploy.failed"]);
    assert.equal((JSON.parse(bodies[0] ?? "{}") as { detail: string }).detail, "down: ssh could not connect: Connection refused; nothing was sent");
  });

  it("no bundle with a target: no notifications at all", () => {
    assert.equal(shipNotifications([{ label: "a", release: "x", notify: undefined }], undefined, () => undefined), undefined);
  });
});
