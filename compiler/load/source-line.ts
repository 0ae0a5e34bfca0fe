// The line a diagnostic points at, read for the report at the edge (cli.ts), never by the report.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { MAX_FILE_BYTES } from "./inventory.js";

/** Line `line` (1-based) of `file`, if it is a readable regular file of sane size (it may be neither). */
export function readSourceLine(file: string, line: number): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return undefined;
    const buffer = Buffer.alloc(stat.size);
    let length = 0;
    for (let count = -1; count !== 0 && length < buffer.length; length += count) count = readSync(fd, buffer, length, buffer.length - length, null);
    return buffer.subarray(0, length).toString("utf8").split("\n")[line - 1];
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
