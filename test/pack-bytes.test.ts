// pack writes an in-memory bundle's tar in one buffer (each file's bytes once) and gzips it whole; a
// streamed one in chunks. The bytes are pinned here for what the fixtures do not reach: a path that needs
// a pax header, content that is not ASCII, a file given as bytes, and a tarball over one gzip member
// (members are cut where the chunked tar cut them). The sums are of the bytes pack wrote before it
// wrote in one buffer; a change here changes bundle ids.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { it } from "node:test";
import { packBundle, tgzBytes } from "../compiler/pack/index.js";
import type { BundleFile } from "../compiler/types.js";
import { compileFixture, readFixture } from "./fixtures.js";

const sha = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

/** Bytes that gzip does not shrink to nothing, the same on every run. */
function noise(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = 1;
  for (let index = 0; index < size; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

const EXTRA: BundleFile[] = [
  { path: `${"long/".repeat(24)}name.txt`, mode: 0o644, content: "a path of 128 bytes: a pax header\n" },
  { path: "notes/unicode.txt", mode: 0o644, content: "déjà … ✓ \u{1F600}\n" },
  { path: "data/bytes.bin", mode: 0o644, content: noise(1000) },
];

function packed(extraFiles: BundleFile[]): { tgz: Buffer; id: string } {
  const compiled = compileFixture(readFixture("inventory-production"));
  const result = packBundle(compiled.spec, compiled.bundle, { plcVersion: "0", mtime: 1_700_000_000, extraFiles });
  return { tgz: tgzBytes(result), id: result.id };
}

it("a bundle with a pax header, non-ASCII text and bytes keeps its bytes", () => {
  const { tgz, id } = packed(EXTRA);
  assert.equal(id, "9a54899b101cc0ef8bfabe5e500903ec29c05d2a671abc2e1091e5a6195002ee");
  assert.equal(sha(tgz), "259cbec94e65cc74148f8d472cfd7638c6e0c0d5eb43d65ef28d4cf207c66e5c");
});

it("a bundle over one gzip member held in memory keeps its members where they were", () => {
  const { tgz, id } = packed([...EXTRA, { path: "data/big.bin", mode: 0o644, content: noise(5 * 1024 * 1024 + 7) }]);
  assert.equal(id, "66edca574190dd397b5271bc38286319c33ef06ee834524aadb95934390525cf");
  assert.equal(sha(tgz), "1e1be099da9dfdd357b734b8e3f995eb3a3fa53faf4604271402e5b18aae77e6");
  // Two members: gunzip reads them as one stream.
  assert.ok(gunzipSync(tgz).length > 5 * 1024 * 1024);
});
