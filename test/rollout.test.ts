// A rollout's plan: every host once, in the order given, the canary alone first, no batch larger than asked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseBatch, planBatches } from "../compiler/ship/rollout.js";

describe("rollout batches", () => {
  it("--batch N and N%: hosts or a share of the fleet, rounded up; anything else is refused", () => {
    assert.deepEqual(parseBatch("5"), { hosts: 5 });
    assert.deepEqual(parseBatch("25%"), { percent: 25 });
    for (const bad of ["0", "0%", "101%", "-1", "1.5", "five", "", "5 %"]) assert.equal(parseBatch(bad), undefined, bad);
    assert.deepEqual(planBatches(20, { hosts: 5 }, true), [[0], [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19]]);
    assert.deepEqual(planBatches(10, { percent: 25 }, false), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    assert.deepEqual(planBatches(1, { hosts: 5 }, true), [[0]], "a single host is its own canary");
  });

  it("covers every host exactly once, in order, canary first and alone", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.oneof(fc.integer({ min: 1, max: 50 }).map((hosts) => ({ hosts })), fc.integer({ min: 1, max: 100 }).map((percent) => ({ percent }))),
        fc.boolean(),
        (count, batch, canary) => {
          const batches = planBatches(count, batch, canary);
          assert.deepEqual(batches.flat(), Array.from({ length: count }, (_, i) => i));
          assert.ok(batches.every((b) => b.length > 0));
          if (canary && count > 1) assert.deepEqual(batches[0], [0]);
          const size = "hosts" in batch ? batch.hosts : Math.ceil((count * batch.percent) / 100);
          for (const b of batches.slice(canary && count > 1 ? 1 : 0)) assert.ok(b.length <= size);
        },
      ),
    );
  });
});
