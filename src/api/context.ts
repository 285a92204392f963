// What a route handler sees: the parsed request, the negotiated API version, a cancellation
// signal, body readers and — for attach and exec start — a hijacked connection.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { Logger } from "pino";

export const MEDIA_RAW_STREAM = "application/vnd.docker.raw-stream";
export const MEDIA_MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream";

export interface HijackOptions {
  contentType: string;
  /**
   * Repeat the Api-Version/Server/... headers on the 101, as dockerd does for exec start (its
   * attach answers with the three upgrade headers only).
   */
  withVersionHeaders?: boolean;
}

/** A connection taken over for raw, bidirectional bytes (attach, exec start). */
export interface Hijacked {
  /** Client → daemon bytes (stdin). Ends at the client's half-close (FIN), which is not an abort. */
  readonly input: Readable;
  /** Whether the connection was upgraded (101) rather than answered with a streamed 200. */
  readonly upgraded: boolean;
  write(chunk: Buffer): void;
  /** Ends the output (the daemon's FIN), after everything written. */
  end(): void;
  /** Aborted when the client is gone entirely, or when the server gives up on the connection. */
  readonly signal: AbortSignal;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Path without the version prefix and query. */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The negotiated API version ("1.43"). */
  readonly version: string;
  /** Aborted when the client goes away or the server shuts down. */
  readonly signal: AbortSignal;
  /** The request asked for `Connection: Upgrade` + `Upgrade: tcp`. */
  readonly upgrade: boolean;
  readonly log: Logger | undefined;
  /** The body as a stream, not capped (image load, archive upload, import). */
  bodyStream(): Readable;
  /** The whole body, capped at the server's maxBodyBytes (413 beyond). */
  readBody(): Promise<Buffer>;
  /** The body as JSON (CheckForJSON, then parse); undefined for an empty body. */
  readJson(): Promise<unknown>;
  /** Takes the connection over; only for routes registered as hijacking. */
  hijack(o: HijackOptions): Hijacked;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE";

export interface RouteDef {
  method: Method | Method[];
  /** find-my-way syntax: "/containers/:id/json", "/images/*". */
  path: string;
  handler: Handler;
  /** The route may take the connection over (attach, exec start). */
  hijack?: boolean;
}
