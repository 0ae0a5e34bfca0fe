// What the host's sender (notify.sh) and its OnFailure= unit are rendered from: the same messages,
// colours and bodies plc ship sends, with the host's name filled in on the host.
import { COLOURS, EVENT_NAMES, messageOf, statusOf, type EventName } from "./events.js";
import { SECRET_NOTIFY_WEBHOOK, SECRET_SLACK_TOKEN, SLACK_HOOKS, USERNAME, slackChannel, type NotifyConfig, type WebhookFormat } from "./targets.js";

/** Where notify.sh puts the host's name in a message. */
export const HOST_MARK = "@HOST@";

export interface HostNotify {
  /** `notify-<name>@.service`: a template, its instance the event. */
  unit: string;
  /** The unit OnFailure= of a timer's service starts for an event. */
  onFailure: (event: EventName) => string;
  events: { name: EventName; colour: string; status: string; message: string }[];
  username: string;
  /** `"channel":"#x",` or empty: JSON text spliced into the body. */
  channelField: string;
  iconField: string;
  slack: { secret: string; apiUrl: string; hooks: string } | undefined;
  webhook: { secret: string; format: WebhookFormat } | undefined;
  /** The subject's fields as JSON texts. */
  subject: { project: string; prefix: string; instance: string; image: string; dns: string };
}

export function hostNotify(name: string, config: NotifyConfig): HostNotify {
  const { subject } = config;
  const channel = config.slack?.channel;
  const icon = config.slack?.icon;
  return {
    unit: `notify-${name}@.service`,
    onFailure: (event) => `notify-${name}@${event}.service`,
    events: EVENT_NAMES.map((event) => ({
      name: event,
      colour: COLOURS[event],
      status: statusOf(event),
      message: messageOf({ event, subject, host: HOST_MARK, release: undefined, detail: undefined, time: "", source: "host", ci: undefined }),
    })),
    username: USERNAME,
    channelField: channel === undefined ? "" : `"channel":${JSON.stringify(slackChannel(channel))},`,
    iconField: icon === undefined ? "" : `"icon_url":${JSON.stringify(icon)},`,
    slack: config.slack === undefined ? undefined : { secret: SECRET_SLACK_TOKEN, apiUrl: `${config.slack.api.replace(/\/+$/, "")}/chat.postMessage`, hooks: SLACK_HOOKS },
    webhook: config.webhook === undefined ? undefined : { secret: SECRET_NOTIFY_WEBHOOK, format: config.webhook.format },
    subject: {
      project: JSON.stringify(subject.project),
      prefix: JSON.stringify(subject.prefix),
      instance: JSON.stringify(subject.instance),
      image: JSON.stringify(subject.image),
      dns: JSON.stringify(subject.dns),
    },
  };
}
