// The receiver and the .run header are host scripts like the bundle's: POSIX sh, clean under shellcheck and dash -n.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { receiverScript } from "../../compiler/ship/receiver.js";
import { selfExtractingBundle } from "../../compiler/ship/self-extracting.js";
import { requireTool, runTool } from "../tools.js";

test("the receiver and the self-extracting header pass shellcheck -s sh and dash -n", (t) => {
  if (!requireTool(t, "shellcheck", "dash")) return;
  const dir = mkdtempSync(join(tmpdir(), "plc-ship-scripts-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const receiver = join(dir, "receiver.sh");
  writeFileSync(receiver, `#!/bin/sh\n${receiverScript()}`);
  const header = join(dir, "header.sh");
  writeFileSync(header, selfExtractingBundle({ tgz: Buffer.alloc(0), id: "0".repeat(64) }, "ybs-hack"));
  for (const file of [receiver, header]) {
    const lint = runTool("shellcheck", ["-s", "sh", file]);
    assert.equal(lint.status, 0, lint.stdout);
    assert.equal(runTool("dash", ["-n", file]).status, 0);
  }
});
