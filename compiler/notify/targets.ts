// Where events go: Slack (playlabs' slack_token and slack_channel), a Slack-compatible incoming
// webhook (Mattermost and Rocket.Chat take the same body), or a generic JSON event. Pure: requests as data.
import { COLOURS, messageOf, statusOf, type NotifyEvent, type Subject } from "./events.js";

/** Slack's Web API; `slack_api_url` points elsewhere (a proxy, a test server). */
export const SLACK_API = "https://slack.com/api";
/** Where a Slack token that is a webhook path (`T…/B…/…`) posts, as Ansible's slack module (playlabs') did. */
export const SLACK_HOOKS = "https://hooks.slack.com/services/";
/** The name messages are posted under (playlabs posted as "Playlabs"). */
export const USERNAME = "plc";

export type WebhookFormat = "slack" | "json";

/** The half of the settings a bundle may hold: nothing secret. The bundle's notify.json, and the host's notify.sh. */
export interface NotifyConfig {
  subject: Subject;
  slack: { channel: string | undefined; icon: string | undefined; api: string } | undefined;
  webhook: { format: WebhookFormat } | undefined;
}

/** The secret half, from the secrets file: never in the tarball, never in a process's argv. */
export interface NotifySecrets {
  slackToken: string | undefined;
  webhookUrl: string | undefined;
}

/** Secret names in the secrets file (and the host's .secrets.env). */
export const SECRET_SLACK_TOKEN = "PLC_SLACK_TOKEN";
export const SECRET_NOTIFY_WEBHOOK = "PLC_NOTIFY_WEBHOOK";

/** One HTTP POST. `target` names it in messages, never by its URL (a webhook URL is a secret). */
export interface NotifyRequest {
  target: "slack" | "notify_webhook";
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Slack's Web API answers 200 with `{"ok": false}` on failure: the body must be read. */
  isSlackApi: boolean;
}

/** How a slack_token is used, as Ansible's slack module reads it: `xox…` a Web API token, a URL, else a webhook path. */
export function slackEndpoint(token: string, api: string): { url: string; isSlackApi: boolean } {
  if (token.startsWith("xox")) return { url: `${api.replace(/\/+$/, "")}/chat.postMessage`, isSlackApi: true };
  if (/^https?:\/\//.test(token)) return { url: token, isSlackApi: false };
  return { url: `${SLACK_HOOKS}${token}`, isSlackApi: false };
}

/** `general` is `#general`, as the slack module made it; ids (C0…, G0…) and `@user` are kept. */
export function slackChannel(channel: string): string {
  return /^(#|@|C0|GF|G0|CP)/.test(channel) ? channel : `#${channel}`;
}

/** A Slack message with one coloured attachment: chat.postMessage's shape, which incoming webhooks take too. */
export function slackPayload(event: NotifyEvent, options: { channel: string | undefined; icon: string | undefined }): Record<string, unknown> {
  const text = messageOf(event);
  return {
    ...(options.channel === undefined ? {} : { channel: slackChannel(options.channel) }),
    username: USERNAME,
    ...(options.icon === undefined ? {} : { icon_url: options.icon }),
    attachments: [{ color: COLOURS[event.event], text, fallback: text, mrkdwn_in: ["text"] }],
  };
}

/** The generic event: every field, named in snake_case, for anything that reads JSON. */
export function jsonPayload(event: NotifyEvent): Record<string, unknown> {
  const { subject, ci } = event;
  return {
    event: event.event,
    status: statusOf(event.event),
    project: subject.project,
    prefix: subject.prefix,
    instance: subject.instance,
    image: subject.image,
    dns: subject.dns,
    host: event.host,
    release: event.release ?? null,
    detail: event.detail ?? null,
    message: messageOf(event),
    time: event.time,
    source: event.source,
    ci: ci === undefined ? null : { provider: ci.provider, job_url: ci.jobUrl ?? null, commit: ci.commit ?? null, author: ci.author ?? null, message: ci.message ?? null },
  };
}

const JSON_TYPE = "application/json; charset=utf-8";

/** The requests one event makes: one per configured target, Slack first. */
export function requestsFor(event: NotifyEvent, config: NotifyConfig, secrets: NotifySecrets): NotifyRequest[] {
  const requests: NotifyRequest[] = [];
  if (config.slack !== undefined && secrets.slackToken !== undefined) {
    const { url, isSlackApi } = slackEndpoint(secrets.slackToken, config.slack.api);
    const headers: Record<string, string> = { "Content-Type": JSON_TYPE };
    if (isSlackApi) headers["Authorization"] = `Bearer ${secrets.slackToken}`;
    requests.push({ target: "slack", url, headers, body: JSON.stringify(slackPayload(event, config.slack)), isSlackApi });
  }
  if (config.webhook !== undefined && secrets.webhookUrl !== undefined) {
    const body = config.webhook.format === "json" ? jsonPayload(event) : slackPayload(event, { channel: config.slack?.channel, icon: config.slack?.icon });
    requests.push({ target: "notify_webhook", url: secrets.webhookUrl, headers: { "Content-Type": JSON_TYPE }, body: JSON.stringify(body), isSlackApi: false });
  }
  return requests;
}
