// plc ship's events: derived from the phases the receiver reports and the events install.sh marks,
// one Notifier per bundle, sent from the deploying machine (it has the network and the CI variables).
import { readFileSync } from "node:fs";
import { textOf } from "../diagnostics.js";
import type { ShipEvent, ShipResult } from "../ship/transport.js";
import { readCiContext, type CiContext } from "./ci.js";
import { isEventName, type EventName } from "./events.js";
import { Notifier, type Post } from "./send.js";
import type { NotifyConfig, NotifySecrets } from "./targets.js";

/** A host being shipped to and what its bundle says about notifications. */
export interface NotifyPlan {
  label: string;
  release: string;
  notify: { config: NotifyConfig; secrets: NotifySecrets } | undefined;
}

export interface ShipNotifications {
  /** Every ship event, as the reporter sees it. */
  observe(event: ShipEvent): void;
  /** A host's ship ended. */
  finish(result: ShipResult): void;
  /** Resolves when every event was sent or reported. */
  flush(): Promise<void>;
}

/** Notifications for a deploy to these hosts; undefined when no bundle names a target. */
export function shipNotifications(
  plans: readonly NotifyPlan[],
  ci: CiContext | undefined,
  report: (problem: string) => void,
  post?: Post,
): ShipNotifications | undefined {
  const byLabel = new Map<string, { plan: NotifyPlan; notifier: Notifier; isStarted: boolean }>();
  for (const plan of plans) {
    if (plan.notify === undefined) continue;
    byLabel.set(plan.label, { plan, notifier: new Notifier(plan.notify.config, plan.notify.secrets, report, post), isStarted: false });
  }
  if (byLabel.size === 0) return undefined;
  const send = (label: string, event: EventName, detail: string | undefined): void => {
    const host = byLabel.get(label);
    if (host?.plan.notify === undefined) return;
    host.notifier.send({
      event,
      subject: host.plan.notify.config.subject,
      host: label,
      release: host.plan.release,
      detail,
      time: new Date().toISOString(),
      source: "plc ship",
      ci,
    });
  };
  return {
    observe(event) {
      const host = byLabel.get(event.label);
      if (host === undefined) return;
      if (event.kind === "phase" && event.phase === "installing" && !host.isStarted) {
        host.isStarted = true;
        send(event.label, "deploy.started", undefined);
      } else if (event.kind === "event" && isEventName(event.name)) {
        send(event.label, event.name, event.detail === "" ? undefined : event.detail);
      }
    },
    finish(result) {
      if (result.isOk) send(result.label, "deploy.succeeded", undefined);
      else send(result.label, "deploy.failed", result.diagnostic === undefined ? undefined : textOf(result.diagnostic).message);
    },
    async flush() {
      await Promise.all([...byLabel.values()].map((host) => host.notifier.flush()));
    },
  };
}

/** plc ship's notifications: CI context from this process's environment; a failed POST is a warning on stderr. */
export function notifyShip(plans: readonly NotifyPlan[]): ShipNotifications | undefined {
  const ci = readCiContext(process.env, (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  });
  return shipNotifications(plans, ci, (problem) => {
    // A notification never fails a deploy: said, and the exit status stays the deploy's.
    process.stderr.write(`plc ship: warning: notification ${problem}\n`);
  });
}

/** The targets a bundle's events go to, by variable name (`slack, notify_webhook (json)`); "" for none. */
export function describeNotifyTargets(notify: NotifyPlan["notify"]): string {
  if (notify === undefined) return "";
  const targets: string[] = [];
  if (notify.config.slack !== undefined && notify.secrets.slackToken !== undefined) targets.push("slack");
  if (notify.config.webhook !== undefined && notify.secrets.webhookUrl !== undefined) targets.push(`notify_webhook (${notify.config.webhook.format})`);
  return targets.join(", ");
}
