// A made-up image layer for the benches: big, written in 1 MiB pieces, never held in memory.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";

/** A layer file of `size` bytes, random and zero MiB by turns (compresses about 2x, as layers do); its sha256. */
export function writeLayer(file: string, size: number): string {
  const hash = createHash("sha256");
  const fd = openSync(file, "w");
  const zeros = Buffer.alloc(1024 * 1024);
  for (let done = 0, turn = 0; done < size; done += zeros.length, turn++) {
    const chunk = (turn % 2 === 0 ? randomBytes(zeros.length) : zeros).subarray(0, Math.min(zeros.length, size - done));
    hash.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return hash.digest("hex");
}
