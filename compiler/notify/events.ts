// The events plc reports, what each says, and the colour playlabs gave it in Slack.
import type { CiContext } from "./ci.js";

/** Every event, deploy-time ones (sent by plc ship) first, then the host's timers'. */
export const EVENT_NAMES = [
  "deploy.started",
  "backup.started",
  "backup.succeeded",
  "backup.failed",
  "checks.succeeded",
  "checks.failed",
  "deploy.succeeded",
  "deploy.failed",
  "rollback",
  "prune.failed",
  "tls.renew_failed",
  "tls.expiring",
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export function isEventName(text: string): text is EventName {
  return (EVENT_NAMES as readonly string[]).includes(text);
}

/** Slack attachment colours. */
export type Colour = "good" | "warning" | "danger";

/**
 * playlabs' colours (roles/project/tasks/main.yml): a start is `warning`, a success `good`, a failure `danger`.
 * playlabs sent its backup success in `danger` too, a slip this keeps out: a red success reads as a failure.
 */
export const COLOURS: Record<EventName, Colour> = {
  "deploy.started": "warning",
  "backup.started": "warning",
  "backup.succeeded": "good",
  "backup.failed": "danger",
  "checks.succeeded": "good",
  "checks.failed": "danger",
  "deploy.succeeded": "good",
  "deploy.failed": "danger",
  rollback: "warning",
  "prune.failed": "danger",
  "tls.renew_failed": "danger",
  "tls.expiring": "warning",
};

/** What the event says about the outcome, for receivers that sort on it. */
export type Status = "started" | "succeeded" | "failed" | "warning";

export function statusOf(event: EventName): Status {
  if (event.endsWith(".started")) return "started";
  if (event.endsWith(".succeeded")) return "succeeded";
  if (event.endsWith("failed")) return "failed";
  return "warning";
}

/** The deployment an event is about: what the bundle deploys and where. */
export interface Subject {
  /** `<prefix>-<instance>`. */
  project: string;
  prefix: string;
  instance: string;
  image: string;
  dns: string[];
}

/** One event as it travels to every target. */
export interface NotifyEvent {
  event: EventName;
  subject: Subject;
  /** The host it happened on, as plc ship names it (or the host's own name, from its timers). */
  host: string;
  /** The 12-hex release id, when a deploy is concerned. */
  release: string | undefined;
  /** Free text: the failure's reason, the certificate's expiry. */
  detail: string | undefined;
  /** ISO 8601, UTC. */
  time: string;
  /** "plc ship" on the deploying machine, "host" from the host's timers. */
  source: "plc ship" | "host";
  ci: CiContext | undefined;
}

/** The message, one line first then the CI lines, as playlabs wrote its Slack messages. */
export function messageOf(event: NotifyEvent): string {
  const { subject, host } = event;
  const site = subject.dns[0] ?? host;
  const release = event.release === undefined ? "" : ` release ${event.release}`;
  const who = event.ci?.author === undefined ? "" : `${event.ci.author} `;
  const first = ((): string => {
    switch (event.event) {
      case "deploy.started":
        return `${who}deploying ${subject.image} on ${site} (${host})`;
      case "backup.started":
        return `backup starting on ${host}...`;
      case "backup.succeeded":
        return `backup succeeded on ${host}, deploying...`;
      case "backup.failed":
        return event.source === "host" ? `scheduled backup FAILED on ${host}` : `backup FAILED on ${host}: deploy aborted, what ran before still runs`;
      case "checks.succeeded":
        return `checks are happy with ${site}`;
      case "checks.failed":
        return `checks say ${site} is not behaving`;
      case "deploy.succeeded":
        return `deployed${release} (${subject.image}) on ${host}`;
      case "deploy.failed":
        return `deploy${release} on ${host} FAILED`;
      case "rollback":
        return `what ran before${release} runs again on ${host}`;
      case "prune.failed":
        return `scheduled prune of backups FAILED on ${host}`;
      case "tls.renew_failed":
        return `TLS certificate renewal FAILED on ${host}`;
      case "tls.expiring":
        return `TLS certificate of ${site} expires soon`;
    }
  })();
  const lines = [`${subject.project}: ${first}`];
  if (event.detail !== undefined && event.detail !== "") lines.push(event.detail);
  const ci = event.ci;
  if (ci !== undefined) {
    if (ci.jobUrl !== undefined) lines.push(ci.jobUrl);
    if (event.event === "deploy.started") {
      if (ci.commit !== undefined) lines.push(ci.commit);
      if (ci.message !== undefined) lines.push(ci.message);
    }
  }
  return lines.join("\n");
}
