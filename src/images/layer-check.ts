// Checks a layer while its bytes stream into the content store, so nothing unsafe or corrupt is
// ever committed: the gzip stream must be valid, the tar well formed, and no entry may escape
// the root. The same pass yields the diffID (sha256 of the uncompressed tar).
//
// containerd's applier (archive/tar.go Apply) already scopes every path with fs.RootPath and
// bounds hard links with hardlinkRootPath, so "../x" lands inside the snapshot rather than
// outside it. berth rejects such layers anyway (before commit): no image builder writes them,
// and a layer that only works because the applier rewrites it is not what its author meant.
// Symlinks pointing outside are kept: they are resolved inside the container's root at run time.
import { createHash } from "node:crypto";
import path from "node:path/posix";
import { PassThrough, Transform, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { errInvalidArgument } from "../base/errors.js";
import type { EntryBody } from "./layer-extract.js";

/** Receives each checked entry (an extraction beside the check); its failure only stops it. */
export interface EntrySink {
  entry(header: tar.Header, body: EntryBody): Promise<void>;
}

export interface LayerCheckResult {
  /** sha256 of the uncompressed tar. */
  diffId: string;
  compression: "none" | "gzip";
  /** Size of the uncompressed tar. */
  uncompressedSize: number;
  entries: number;
}

/** A tar entry's path made relative and plain: "./a/", "/a" and "a/" are "a"; the root is "". */
export function cleanTarPath(p: string): string {
  const c = path.normalize(p.replace(/^\/+/, "")).replace(/\/+$/, "");
  return c === "." ? "" : c;
}

/** Why a tar entry is refused, or undefined when it is safe to store. */
export function unsafeEntryReason(h: { name: string; type?: string | null; linkname?: string | null }): string | undefined {
  const name = h.name;
  if (name.startsWith("/")) return `absolute path ${JSON.stringify(name)}`;
  if (name.split("/").includes("..")) return `path ${JSON.stringify(name)} escapes the root`;
  // A whiteout names an entry of its own directory: ".wh." + "" / "." / ".." would hide the
  // directory itself or its parent (whiteouts are refused or rejected by the appliers too).
  const base = path.basename(name.replace(/\/+$/, ""));
  if (base.startsWith(".wh.") && base !== ".wh..wh..opq" && ["", ".", ".."].includes(base.slice(4))) {
    return `whiteout ${JSON.stringify(name)} names no entry of its directory`;
  }
  if (h.type === "link") {
    const target = h.linkname ?? "";
    if (target.startsWith("/")) return `hard link ${JSON.stringify(name)} to absolute path ${JSON.stringify(target)}`;
    if (target.split("/").includes("..")) return `hard link ${JSON.stringify(name)} to ${JSON.stringify(target)} escapes the root`;
  }
  return undefined;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Feed it the layer's bytes in order (write), then end() for the result. A failure (bad gzip,
 * bad tar, unsafe entry) rejects the next write or end() with an invalid-argument error.
 */
export class LayerChecker {
  readonly #what: string;
  readonly #head: Buffer[] = [];
  #headLen = 0;
  #input: PassThrough | undefined;
  #compression: "none" | "gzip" = "none";
  #error: Error | undefined;
  #done: Promise<LayerCheckResult> | undefined;
  readonly #failed: Promise<never>;
  #fail!: (e: Error) => void;

  #sink: EntrySink | undefined;
  #sinkError: Error | undefined;

  /** The caller hashes the raw bytes: an uncompressed layer's diff ID is that digest (end()). */
  readonly #callerHashesRaw: boolean;

  constructor(what: string, o: { sink?: EntrySink; callerHashesRaw?: boolean } = {}) {
    this.#what = what;
    this.#sink = o.sink;
    this.#callerHashesRaw = o.callerHashesRaw ?? false;
    this.#failed = new Promise<never>((_, reject) => { this.#fail = reject; });
    this.#failed.catch(() => {});
  }

  get compression(): "none" | "gzip" { return this.#compression; }
  /** Why the sink stopped taking entries (it saw only part of the layer), if it did. */
  get sinkError(): Error | undefined { return this.#sinkError; }
  /** True when the check failed because an entry would escape the root (not merely bad data). */
  get unsafe(): boolean { return this.#unsafe; }
  #unsafe = false;

  #start(): void {
    const head = this.#head.length === 1 ? this.#head[0]! : Buffer.concat(this.#head);
    this.#compression = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? "gzip" : "none";
    const input = new PassThrough();
    input.on("error", () => { /* reported through the extract side */ });
    // The diff ID hashes the uncompressed tar; for an uncompressed layer whose caller hashes the
    // same bytes already, once is enough.
    const hash = this.#compression === "none" && this.#callerHashesRaw ? undefined : createHash("sha256");
    let size = 0;
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) { hash?.update(chunk); size += chunk.length; cb(null, chunk); },
    });
    const extract = tar.extract();
    this.#extract = extract;
    const onError = (e: Error, stage: string) => this.#setError(errInvalidArgument(`${this.#what}: ${stage}: ${e.message}`, { cause: e }));
    let upstream: Readable = input;
    if (this.#compression === "gzip") {
      const gunzip = createGunzip();
      gunzip.on("error", (e) => { onError(e, "invalid gzip data"); extract.destroy(e); });
      upstream = input.pipe(gunzip);
    }
    upstream.pipe(hasher);
    hasher.pipe(extract as unknown as NodeJS.WritableStream);
    this.#diffId = hash ? () => "sha256:" + hash.digest("hex") : undefined;
    let entries = 0;
    this.#done = (async () => {
      try {
        for await (const e of extract) {
          entries++;
          const reason = unsafeEntryReason(e.header);
          if (reason) {
            this.#unsafe = true;
            throw errInvalidArgument(`${this.#what}: ${reason}`);
          }
          if (this.#sink) {
            try {
              await this.#sink.entry(e.header, e as unknown as EntryBody);
            } catch (err) {
              this.#sinkError = err as Error;
              this.#sink = undefined;
            }
          }
          e.resume();
        }
      } catch (e) {
        if (this.#error) throw this.#error;
        const err = (e as { kind?: string }).kind ? (e as Error) : errInvalidArgument(`${this.#what}: not a valid tar archive: ${(e as Error).message}`, { cause: e });
        this.#setError(err);
        input.destroy();
        throw err;
      }
      if (this.#error) throw this.#error;
      return { diffId: this.#diffId?.() ?? "", compression: this.#compression, uncompressedSize: size, entries };
    })();
    this.#done.catch(() => {});
    this.#input = input;
    this.#input.write(head);
  }

  #setError(e: Error): void {
    if (this.#error) return;
    this.#error = e;
    this.#fail(e);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#error) throw this.#error;
    if (!this.#input) {
      // A view, not a copy: the first chunk may be the whole layer. Callers do not reuse buffers.
      this.#head.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#headLen += chunk.length;
      if (this.#headLen < 2) return;
      this.#start();
      return;
    }
    if (!this.#input.write(chunk)) {
      await Promise.race([new Promise((r) => this.#input!.once("drain", r)), this.#failed, this.#done]);
    }
    if (this.#error) throw this.#error;
  }

  #diffId: (() => string) | undefined;

  /**
   * The result, once every byte was written. `rawDigest`: the sha256 of the bytes written, which
   * a caller that hashes them passes (it is the diff ID of an uncompressed layer).
   */
  async end(rawDigest?: string): Promise<LayerCheckResult> {
    if (this.#error) throw this.#error;
    if (!this.#input) this.#start();
    this.#input!.end();
    const r = await this.#done!;
    if (r.diffId === "") {
      if (!rawDigest) throw errInvalidArgument(`${this.#what}: end() needs the raw digest`);
      return { ...r, diffId: rawDigest };
    }
    return r;
  }

  /** Stops checking (the write was abandoned). */
  destroy(): void {
    this.#setError(errInvalidArgument(`${this.#what}: check abandoned`));
    this.#input?.destroy();
    // Ends the entry a sink may be reading, so that it stops writing.
    this.#extract?.destroy();
  }

  #extract: { destroy(e?: Error): void } | undefined;
}

/** Checks a whole layer held in memory or in a stream. */
export async function checkLayer(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, what = "layer"): Promise<LayerCheckResult> {
  const c = new LayerChecker(what);
  try {
    for await (const chunk of source) await c.write(chunk);
    return await c.end();
  } catch (e) {
    c.destroy();
    throw e;
  }
}
