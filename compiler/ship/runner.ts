// Several hosts: at most N ships at a time, results in the order the hosts were given, a summary table.
import { formatSeconds, shipTo, type Destination, type InstallMode, type ShipEvent, type ShipResult, type SshSettings } from "./transport.js";
import type { Shipment } from "./shipment.js";
import { isNotReached, type RolloutResult } from "./rollout.js";

/** One host and the bundle it gets (host_vars may give each host its own). */
export interface ShipPlan {
  destination: Destination;
  shipment: Shipment;
}

/** Ships every plan, `parallel` at a time; one host's failure does not stop the others. */
export async function shipAll(
  plans: readonly ShipPlan[],
  settings: SshSettings,
  mode: InstallMode,
  parallel: number,
  onEvent: (event: ShipEvent) => void,
): Promise<ShipResult[]> {
  const results: ShipResult[] = new Array<ShipResult>(plans.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const index = next++;
      const plan = plans[index];
      if (plan === undefined) return;
      results[index] = await shipTo(plan.destination, plan.shipment, settings, mode, onEvent);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, plans.length)) }, worker));
  return results;
}

/** host, result, duration: one row per host, columns aligned. */
export function formatSummary(results: readonly RolloutResult[]): string {
  const rows = [
    ["host", "result", "duration"],
    ...results.map((result) =>
      isNotReached(result)
        ? [result.label, "not reached", "-"]
        : [result.label, result.isOk ? "ok" : `failed (${result.phase})`, formatSeconds(result.durationMs)],
    ),
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row.map((cell, column) => (column === 2 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ")).join("\n") + "\n";
}
