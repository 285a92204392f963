// Streamed JSON responses (NDJSON): events, pull/load/import progress. Headers go out with the
// first message, so an error before any output is still a plain HTTP error; after that, errors
// are reported in-band as dockerd's jsonmessage error object.
import type { ServerResponse } from "node:http";
import { errorMessage } from "./errors.js";

export class JsonStream {
  readonly #res: ServerResponse;
  #started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get started(): boolean {
    return this.#started;
  }

  /** Sends the 200 and its headers now (events: the client waits for them before anything happens). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#res.statusCode = 200;
    this.#res.setHeader("Content-Type", "application/json");
    this.#res.flushHeaders();
  }

  /** One JSON value and a newline (encoding/json's Encoder). */
  write(message: unknown): void {
    this.writeRaw(JSON.stringify(message) + "\n");
  }

  writeRaw(line: string): void {
    this.start();
    if (!this.#res.writableEnded && !this.#res.destroyed) this.#res.write(line);
  }

  /**
   * Reports a failure: as the HTTP status if nothing was sent yet (rethrows), else in-band as
   * {"errorDetail":{"message":...},"error":...}, which the docker CLI prints and exits 1 on.
   */
  fail(err: unknown): void {
    if (!this.#started) throw err;
    this.failInBand(err);
  }

  /** Reports a failure in-band even before any output: the 200 goes out with the error message. */
  failInBand(err: unknown): void {
    const message = errorMessage(err);
    this.write({ errorDetail: { message }, error: message });
    this.end();
  }

  end(): void {
    this.start();
    if (!this.#res.writableEnded) this.#res.end();
  }
}

// ---- jsonmessage progress -------------------------------------------------------------------

/** go-units HumanSize: decimal units, four significant digits ("1.984MB"). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number.parseFloat(v.toPrecision(4))}${units[i]}`;
}

/** jsonmessage.JSONProgress.String(): "[=====>      ]  1.2MB/3.4MB". */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current);
  const width = 50;
  const pct = Math.min(1, Math.max(0, current / total));
  const filled = Math.floor(pct * width);
  const bar = filled >= width ? "=".repeat(width) : "=".repeat(filled) + ">" + " ".repeat(width - filled - 1);
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** The short ID dockerd shows for a blob: 12 hex digits of its digest. */
export function shortBlobId(id: string): string {
  const m = /^sha256:([0-9a-f]{12})/.exec(id);
  return m ? m[1]! : id;
}
