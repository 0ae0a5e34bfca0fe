// Several hosts: at most N ships at a time, results in the order the hosts were given, a summary table.
import { formatSeconds, shipTo, type InstallMode, type ShipEvent, type ShipResult, type SshSettings } from "./transport.js";
import type { ShipPlan } from "./shipment.js";

/** One host and the bundle it gets (host_vars may give each host its own). */
export type { ShipPlan } from "./shipment.js";

/** A host the rollout stopped before: listed, never contacted. */
export interface NotReached {
  label: string;
  isReached: false;
}

export type RolloutResult = ShipResult | NotReached;

export function isNotReached(result: RolloutResult): result is NotReached {
  return "isReached" in result;
}

/** Ships every plan, `parallel` at a time; one host's failure does not stop the others. */
export async function shipAll(
  plans: readonly ShipPlan[],
  settings: SshSettings,
  mode: InstallMode,
  parallel: number,
  onEvent: (event: ShipEvent) => void,
  onResult: (result: ShipResult) => void = () => undefined,
): Promise<ShipResult[]> {
  const results: ShipResult[] = new Array<ShipResult>(plans.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const index = next++;
      const plan = plans[index];
      if (plan === undefined) return;
      const result = await shipTo(plan.destination, plan.shipment, settings, mode, onEvent);
      results[index] = result;
      onResult(result);
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
