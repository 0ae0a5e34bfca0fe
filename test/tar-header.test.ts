// pack writes the common tar header itself (plainHeader) instead of through tar's Header: the blocks
// must be the very bytes tar encodes, or every bundle id changes. Compared field for field here over
// the paths, modes, sizes and mtimes a bundle (or a tarball verify re-encodes) can have.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Header } from "tar/header";
import { Pax } from "tar/pax";
import { encodeHeader } from "../compiler/pack/index.js";

/** The header as tar's Header and Pax encode it: pack's encoding before plainHeader. */
function tarHeader(entry: { path: string; mode: number; size: number; mtime: number; type: "File" | "Directory" }): Buffer[] {
  const data = { ...entry, mtime: new Date(entry.mtime * 1000), uid: 0, gid: 0, uname: "", gname: "" };
  const block = Buffer.alloc(512);
  const needsPax = new Header(data).encode(block, 0);
  return needsPax ? [new Pax(data).encode(), block] : [block];
}

it("encodeHeader writes the bytes tar's Header writes, for every kind of entry", () => {
  const paths = ["a", "ybs-hack/", "ybs-hack/install.sh", "x/".repeat(49) + "y", "p".repeat(98), "p".repeat(99), "p".repeat(100), "d/".repeat(60) + "f", "ü/é.sh", "a b/~c", "q".repeat(300)];
  const modes = [0, 0o644, 0o755, 0o4755, 0o7777, 0o7777777, 0o10000000];
  const sizes = [0, 1, 511, 512, 513, 80_000, 0o7777777, 0o77777777777, 0o77777777777 + 1];
  const mtimes = [0, 1, 1_700_000_000, 0o77777777777, 0o77777777777 + 1, 1.5, -1];
  let compared = 0;
  for (const path of paths)
    for (const mode of modes)
      for (const size of sizes)
        for (const mtime of mtimes)
          for (const type of ["File", "Directory"] as const) {
            const entry = { path, mode, size, mtime, type };
            assert.deepEqual(encodeHeader(entry), tarHeader(entry), JSON.stringify(entry));
            compared++;
          }
  assert.equal(compared, paths.length * modes.length * sizes.length * mtimes.length * 2);
});
