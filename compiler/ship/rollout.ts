// A fleet rollout: the first host alone (the canary), then batch after batch; a batch with more
// failures than allowed stops the rollout, and the hosts it never reached are listed as such.
// Planning is pure; rollOut ships with shipTo, one ssh connection per host.
import { shipTo, type InstallMode, type ShipEvent, type ShipResult, type SshSettings } from "./transport.js";
import type { ShipPlan } from "./runner.js";

/** `--batch N` (hosts) or `--batch N%` (of the fleet, rounded up). */
export type BatchSize = { hosts: number } | { percent: number };

/**
 * sshd's default MaxStartups (10:30:100) starts refusing unauthenticated connections beyond 10: a
 * jump host sees every target's connection as one of its own, so no more than this go through it.
 */
export const JUMP_HOST_CONNECTIONS = 10;

/** Parses `--batch`; undefined when it is neither a whole number of hosts nor a percentage. */
export function parseBatch(text: string): BatchSize | undefined {
  const match = /^([1-9][0-9]*)(%?)$/.exec(text);
  if (match?.[1] === undefined) return undefined;
  const value = Number(match[1]);
  if (match[2] === "%") return value <= 100 ? { percent: value } : undefined;
  return { hosts: value };
}

/** Host indexes batch by batch: the canary alone first (when asked and there is more than one host). */
export function planBatches(hostCount: number, batch: BatchSize, canary: boolean): number[][] {
  const size = "hosts" in batch ? batch.hosts : Math.max(1, Math.ceil((hostCount * batch.percent) / 100));
  const indexes = Array.from({ length: hostCount }, (_, index) => index);
  const batches: number[][] = [];
  if (canary && hostCount > 1) batches.push(indexes.splice(0, 1));
  while (indexes.length > 0) batches.push(indexes.splice(0, size));
  return batches;
}

export interface RolloutOptions {
  batches: number[][];
  /** Failed hosts the rollout tolerates; one more stops it after the batch it happened in. */
  maxFailures: number;
  /** Connections open at once within a batch. */
  connections: number;
}

/** A host the rollout stopped before: listed, never contacted. */
export interface NotReached {
  label: string;
  isReached: false;
}

export type RolloutResult = ShipResult | NotReached;

export function isNotReached(result: RolloutResult): result is NotReached {
  return "isReached" in result;
}

/** Ships batch after batch; results in the order the hosts were given. */
export async function rollOut(
  plans: readonly ShipPlan[],
  settings: SshSettings,
  mode: InstallMode,
  options: RolloutOptions,
  onEvent: (event: ShipEvent) => void,
): Promise<RolloutResult[]> {
  const results: RolloutResult[] = plans.map((plan) => ({ label: plan.destination.label, isReached: false }));
  let failures = 0;
  for (const batch of options.batches) {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batch.length) {
        const index = batch[next++];
        const plan = index === undefined ? undefined : plans[index];
        if (index === undefined || plan === undefined) return;
        const result = await shipTo(plan.destination, plan.shipment, settings, mode, onEvent);
        results[index] = result;
        if (!result.isOk) failures++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.connections, batch.length)) }, worker));
    if (failures > options.maxFailures) break;
  }
  return results;
}
