// The notification settings of a build (from the spec) and of a built bundle (notify.json and the secrets file).
import { fail } from "../diagnostics.js";
import { unquoteSh } from "../render/quote.js";
import type { Spec } from "../types.js";
import { SECRET_NOTIFY_WEBHOOK, SECRET_SLACK_TOKEN, SLACK_API, type NotifyConfig, type NotifySecrets, type WebhookFormat } from "./targets.js";

/** The bundle file ship reads the non-secret settings from. */
export const NOTIFY_CONFIG_FILE = "notify.json";

export interface SpecNotify {
  config: NotifyConfig;
  secrets: NotifySecrets;
}

/** What a spec asks for; undefined when it names no target (then the bundle has no notify.sh). */
export function notifyOfSpec(spec: Spec): SpecNotify | undefined {
  const text = (name: string): string | undefined => {
    const value = spec.vars[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const slackToken = text("slack_token");
  const webhookUrl = text("notify_webhook");
  if (slackToken === undefined && webhookUrl === undefined) return undefined;
  const channel = text("slack_channel");
  if (slackToken?.startsWith("xox") === true && channel === undefined) {
    fail("notify-slack-channel", {}, { origin: spec.values.get("/slack_token")?.origin, variable: "slack_channel" });
  }
  return {
    config: {
      subject: { project: spec.name, prefix: spec.prefix, instance: spec.instance, image: spec.image, dns: spec.dns },
      slack: slackToken === undefined ? undefined : { channel, icon: text("slack_icon"), api: text("slack_api_url") ?? SLACK_API },
      webhook: webhookUrl === undefined ? undefined : { format: (text("notify_format") ?? "slack") as WebhookFormat },
    },
    secrets: { slackToken, webhookUrl },
  };
}

/** The secrets file's assignments for the notification secrets. */
export function notifySecretEntries(secrets: NotifySecrets): { key: string; value: string }[] {
  return [
    ...(secrets.slackToken === undefined ? [] : [{ key: SECRET_SLACK_TOKEN, value: secrets.slackToken }]),
    ...(secrets.webhookUrl === undefined ? [] : [{ key: SECRET_NOTIFY_WEBHOOK, value: secrets.webhookUrl }]),
  ];
}

/** notify.json's content: the config, nothing secret. */
export function notifyConfigText(config: NotifyConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** notify.json read back; undefined when it is not one plc wrote. */
export function parseNotifyConfig(text: string): NotifyConfig | undefined {
  try {
    const value = JSON.parse(text) as Partial<NotifyConfig> | null;
    if (typeof value !== "object" || value === null || typeof value.subject?.project !== "string") return undefined;
    return value as NotifyConfig;
  } catch {
    return undefined;
  }
}

/** The notification secrets of a secrets file (`KEY='value'` lines, as plc build writes them). */
export function readNotifySecrets(text: string | undefined): NotifySecrets {
  const found = new Map<string, string>();
  for (const line of (text ?? "").split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/s.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const value = unquoteSh(match[2]);
    if (value !== undefined) found.set(match[1], value);
  }
  return { slackToken: found.get(SECRET_SLACK_TOKEN), webhookUrl: found.get(SECRET_NOTIFY_WEBHOOK) };
}
