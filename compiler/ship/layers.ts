// Sending only the image layers a host lacks. The bundle's image.parts names every file of the image
// archive by its sha256 (a layer's is its diff ID); the receiver first lists the layer stacks the host's
// docker holds; the stream then carries the archive's files minus the bottom layers some image on the
// host already stacks, and the bundle without image.tar. install.sh --image-parts checks what came.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { createGunzip, gzipSync } from "node:zlib";
import { Header, Pax } from "tar";

/** One line of image.parts: `layer|file SHA256 SIZE PATH`. */
export interface ImagePart {
  isLayer: boolean;
  sha256: string;
  size: number;
  path: string;
}

const BLOCK = 512;

/** image.parts as load/image.ts writes it; undefined for anything else (then the image travels whole). */
export function parseImageParts(text: string): ImagePart[] | undefined {
  const parts: ImagePart[] = [];
  let isBelow = true;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const match = /^(layer|file) ([0-9a-f]{64}) ([0-9]+) ([A-Za-z0-9._@+-][A-Za-z0-9._/@+-]*)$/.exec(line);
    if (match === null) return undefined;
    const [, kind = "", sha256 = "", size = "", path = ""] = match;
    // A stream entry `image/<path>` must stay under image/, and install.sh's glob `*` must see it.
    if (path.split("/").some((part) => part === "" || part.startsWith("."))) return undefined;
    // Layers come first: install.sh allows only layers below every layer sent to be left out.
    if (kind === "layer" && !isBelow) return undefined;
    if (kind === "file") isBelow = false;
    parts.push({ isLayer: kind === "layer", sha256, size: Number(size), path });
  }
  return parts;
}

/** A receiver's `layers` line: one image's diff IDs, bottom first (`sha256:…` words). */
export function parseStack(line: string): string[] {
  return line
    .split(" ")
    .filter((word) => /^sha256:[0-9a-f]{64}$/.test(word))
    .map((word) => word.slice("sha256:".length));
}

/**
 * How many of the image's bottom layers the host has: the longest run of them that begins some image's
 * stack there. docker load reuses a layer only when its whole stack below is the same (its chain ID),
 * so a layer the host has on another base counts for nothing.
 */
export function layersHeld(parts: readonly ImagePart[], stacks: readonly (readonly string[])[]): number {
  const layers = parts.filter((part) => part.isLayer).map((part) => part.sha256);
  let held = 0;
  for (const stack of stacks) {
    let common = 0;
    while (common < layers.length && common < stack.length && layers[common] === stack[common]) common++;
    held = Math.max(held, common);
  }
  return held;
}

/** The parts that travel when the host holds the first `held` layers. */
export function partsToSend(parts: readonly ImagePart[], held: number): ImagePart[] {
  return parts.filter((part, index) => !(part.isLayer && index < held));
}

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private isDone = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(count: number): Promise<boolean> {
    while (this.length < count && !this.isDone) {
      const next = await this.source.next();
      if (next.done === true) this.isDone = true;
      else {
        this.chunks.push(next.value);
        this.length += next.value.length;
      }
    }
    return this.length >= count;
  }

  /** Up to `count` bytes from what is buffered or the next chunk. */
  private async some(count: number): Promise<Buffer> {
    if (this.length === 0 && !(await this.fill(1))) throw new Error("the tar archive ends in the middle of an entry");
    const first = this.chunks[0] ?? Buffer.alloc(0);
    const taken = first.subarray(0, count);
    if (taken.length === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(taken.length);
    this.length -= taken.length;
    return taken;
  }

  /** Exactly `count` bytes, or undefined at the end of the stream. */
  async read(count: number): Promise<Buffer | undefined> {
    if (!(await this.fill(count))) return undefined;
    const out: Buffer[] = [];
    for (let left = count; left > 0; ) {
      const piece = await this.some(left);
      out.push(piece);
      left -= piece.length;
    }
    return Buffer.concat(out);
  }

  /** Whatever is left, as it comes. */
  async *rest(): AsyncGenerator<Buffer> {
    while (this.length > 0 || (await this.fill(1))) yield await this.some(this.length);
  }

  /** `count` bytes as they come. */
  async *take(count: number): AsyncGenerator<Buffer> {
    for (let left = count; left > 0; ) {
      const piece = await this.some(left);
      left -= piece.length;
      yield piece;
    }
  }
}

/** Reads a stream to its end, keeping nothing. */
async function drain(chunks: AsyncIterable<Buffer>): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]();
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
    // skipped
  }
}

/** One member of a tar stream: its header blocks as read (pax header included) and its body, to read or skip. */
interface TarMember {
  path: string;
  type: string;
  size: number;
  headerBlocks: Buffer[];
  /** The body then its padding to a whole block; a member left unread is skipped. */
  body: () => AsyncGenerator<Buffer>;
}

const paddingOf = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** The members of a tar stream in order (ustar with pax headers, as plc and docker write them). */
async function* tarMembers(reader: ByteReader): AsyncGenerator<TarMember> {
  let pax: Pax | undefined;
  let paxBlocks: Buffer[] = [];
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === undefined || block.every((byte) => byte === 0)) return;
    const header = new Header(block, 0, pax);
    if (!header.cksumValid) throw new Error("a tar header has a bad checksum");
    const size = header.size ?? 0;
    const type: string = header.type;
    if (type === "ExtendedHeader" || type === "GlobalExtendedHeader") {
      const body = await reader.read(size + paddingOf(size));
      if (body === undefined) throw new Error("the tar archive ends in a pax header");
      if (type === "ExtendedHeader") {
        pax = Pax.parse(body.subarray(0, size).toString("utf8"), pax, false);
        paxBlocks = [...paxBlocks, block, body];
      }
      continue;
    }
    const state = { isRead: false };
    const member: TarMember = {
      path: (header.path ?? "").replace(/^\.\//, ""),
      type,
      size,
      headerBlocks: [...paxBlocks, block],
      body: () => {
        state.isRead = true;
        return reader.take(size + paddingOf(size));
      },
    };
    pax = undefined;
    paxBlocks = [];
    yield member;
    if (!state.isRead) await drain(reader.take(size + paddingOf(size)));
  }
}

/**
 * One file of a tar.gz, read up to it and no further: image.parts sorts before image.tar, so finding it
 * costs no pass over the image. Undefined when the tarball does not hold it.
 */
export async function readTarballFile(file: string, path: string): Promise<Buffer | undefined> {
  const source = createReadStream(file);
  const gunzip = createGunzip();
  source.on("error", (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  try {
    for await (const member of tarMembers(new ByteReader(gunzip[Symbol.asyncIterator]()))) {
      if (member.path !== path) continue;
      const chunks: Buffer[] = [];
      for await (const piece of member.body()) chunks.push(piece);
      return Buffer.concat(chunks).subarray(0, member.size);
    }
    return undefined;
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

/** A file of the stream: header, content, padding; its sha256 for END. */
export interface StreamFile {
  name: string;
  size: number;
  sha256: string;
}

/**
 * The stream's image entries (`image/<path>` for each part sent, as the archive inside the bundle holds
 * them), then the bundle tarball without image.tar: what `tgz` (the built tarball's bytes) holds, read once.
 * `onFile` learns each entry as it starts, for END. Each part's bytes must be the ones image.parts names.
 */
export async function* layeredEntries(
  tgz: AsyncIterable<Buffer>,
  root: string,
  send: readonly ImagePart[],
  entry: (name: string, size: number) => Buffer,
  onFile: (file: StreamFile) => void,
): AsyncGenerator<Buffer> {
  const wanted = new Map(send.map((part) => [part.path, part]));
  const reader = new ByteReader(tgz[Symbol.asyncIterator]());
  const kept: Buffer[] = [];
  for await (const member of tarMembers(reader)) {
    if (member.path !== `${root}/image.tar`) {
      kept.push(...member.headerBlocks);
      for await (const piece of member.body()) kept.push(piece);
      continue;
    }
    const inner = new ByteReader(member.body()[Symbol.asyncIterator]());
    for await (const file of tarMembers(inner)) {
      const part = file.type === "File" ? wanted.get(file.path) : undefined;
      if (part === undefined) continue;
      if (file.size !== part.size) throw new Error(`image.tar's ${file.path} is not the one image.parts names`);
      wanted.delete(file.path);
      onFile({ name: `image/${part.path}`, size: part.size, sha256: part.sha256 });
      yield entry(`image/${part.path}`, part.size);
      // The body and its padding: the stream's entries are padded to whole blocks the same way.
      const hash = createHash("sha256");
      let seen = 0;
      for await (const piece of file.body()) {
        const content = piece.subarray(0, Math.max(0, Math.min(piece.length, part.size - seen)));
        hash.update(content);
        seen += piece.length;
        yield piece;
      }
      if (hash.digest("hex") !== part.sha256) throw new Error(`image.tar's ${file.path} is not the one image.parts names`);
    }
    // What follows the inner archive's end blocks, up to the member's end.
    await drain(inner.rest());
  }
  if (wanted.size > 0) throw new Error(`image.tar lacks ${[...wanted.keys()].join(", ")}, which image.parts names`);
  const bundle = gzipSync(Buffer.concat([...kept, Buffer.alloc(2 * BLOCK)]), { level: 6 });
  onFile({ name: "bundle.tar.gz", size: bundle.length, sha256: createHash("sha256").update(bundle).digest("hex") });
  yield entry("bundle.tar.gz", bundle.length);
  yield bundle;
  yield Buffer.alloc(paddingOf(bundle.length));
}
