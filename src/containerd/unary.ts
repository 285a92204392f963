// Unary calls framed by hand on the client's HTTP/2 session, as Content/Write is
// (services/content-writer.ts), on the client's one session (session.ts). Through connect-node a unary call cost 0.65–0.85 ms of CPU on
// this VM (a linked AbortController, web Headers built and converted, a sentinel GrpcError
// per completed call); framed here it costs 0.18–0.26 ms (docs/containerd-client.md, "Unary
// calls"). An exec makes three calls, a run -d four.
//
// The wire format is gRPC's: POST /<service>/<method>, a 5-byte prefix (flag 0, big-endian
// length) before the protobuf body, the status in the trailers (or in the headers of a
// trailers-only answer). Failures are GrpcErrors carrying the same codes and messages
// connect-node gives, so rpc-errors.ts stays the one translation to error kinds.
import http2 from "node:http2";
import { create, fromBinary, toBinary, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, GrpcError } from "./grpc-status.js";
import type { H2Session } from "./session.js";

export interface UnaryCallOptions {
  signal?: AbortSignal | undefined;
  /** Deadline in ms; undefined or Infinity: none. */
  timeoutMs?: number | undefined;
  headers?: Record<string, string> | undefined;
}

/** Calls one unary method; resolves with the response message or rejects with a GrpcError. */
export type UnaryInvoker = (method: DescMethodUnary, input: unknown, o: UnaryCallOptions) => Promise<unknown>;

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** HTTP/2 error codes (RFC 9113 §7) by value, named as node prints them. */
const rstNames = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",
  "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"].map((n) => `NGHTTP2_${n}`);

/** The gRPC status of a header or trailer block, if it has one. */
export function grpcStatusOf(h: http2.IncomingHttpHeaders): { code: number; message: string } | undefined {
  const code = h["grpc-status"];
  if (code === undefined) return undefined;
  const raw = String(h["grpc-message"] ?? "");
  let message = raw;
  try { message = decodeURIComponent(raw); } catch { /* as sent */ }
  const n = Number(code);
  if (!Number.isInteger(n) || n < 0 || n > 16) return { code: Code.Internal, message: `invalid grpc-status ${JSON.stringify(code)}${message ? `: ${message}` : ""}` };
  return { code: n, message };
}

/** What a stream that ended without a gRPC status means, as connect-node words it. */
export function streamEndError(rstCode: number | undefined, cause?: unknown): GrpcError {
  // The session dying (GOAWAY with an error, the socket closing) ends every stream on it:
  // containerd went away under the call.
  const causeCode = (cause as { code?: unknown } | undefined)?.code;
  if (causeCode === "ERR_HTTP2_SESSION_ERROR" || causeCode === "ERR_HTTP2_GOAWAY_SESSION") {
    return new GrpcError(`session closed: ${(cause as Error).message}`, Code.Unavailable, cause);
  }
  if (rstCode === undefined || rstCode === NGHTTP2_NO_ERROR) {
    return new GrpcError("stream ended without a gRPC status (session closed?)", Code.Unavailable, cause);
  }
  const name = rstNames[rstCode] ?? String(rstCode);
  // REFUSED_STREAM: containerd did not start the call (it is stopping); CANCEL from the peer:
  // containerd went away under the call (rpc-errors.ts maps both to "unavailable").
  const code = rstCode === NGHTTP2_REFUSED_STREAM ? Code.Unavailable : rstCode === NGHTTP2_CANCEL ? Code.Canceled : Code.Internal;
  return new GrpcError(`stream closed with error code ${name}`, code, cause);
}

/** The code of an answer that is not HTTP 200 (gRPC's HTTP-to-status mapping, as connect's). */
export function codeOfHttpStatus(status: number): Code {
  switch (status) {
    case 400: return Code.Internal;
    case 401: return Code.Unauthenticated;
    case 403: return Code.PermissionDenied;
    case 404: return Code.Unimplemented;
    case 429: case 502: case 503: case 504: return Code.Unavailable;
    default: return Code.Unknown;
  }
}

/** The gRPC framing of one message: flag 0 (uncompressed), length, body. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** The error of a call its signal aborted (connect-node's: Canceled, the reason's message). */
export function abortedError(signal: AbortSignal): GrpcError {
  const r: unknown = signal.reason;
  if (r instanceof GrpcError) return r;
  return new GrpcError(r instanceof Error ? r.message : String(r ?? "the operation was aborted"), Code.Canceled, r);
}

/** A call's deadline in whole ms, as connect: none unless a positive, finite one. */
export function deadlineOf(timeoutMs: number | undefined): number | undefined {
  return timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs > 0 ? Math.ceil(timeoutMs) : undefined;
}

/** The request headers of a call (path, gRPC content type, namespace, deadline, the caller's). */
export function callHeaders(path: string, namespace: string, timeout: number | undefined, extra: Record<string, string> | undefined): http2.OutgoingHttpHeaders {
  return {
    ":path": path,
    ...extra,
    "content-type": "application/grpc+proto",
    te: "trailers",
    "containerd-namespace": namespace,
    ...(timeout !== undefined ? { "grpc-timeout": `${timeout}m` } : {}),
  };
}

export function createUnaryInvoker(sm: H2Session, namespace: string): UnaryInvoker {
  const paths = new WeakMap<DescMethodUnary, string>();
  return (method, input, o) => new Promise((resolve, reject) => {
    const signal = o.signal;
    if (signal?.aborted) { reject(abortedError(signal)); return; }
    let path = paths.get(method);
    if (path === undefined) {
      path = `/${method.parent.typeName}/${method.name}`;
      paths.set(method, path);
    }
    let body: Buffer;
    try {
      body = frame(toBinary(method.input, create(method.input, input as never)));
    } catch (e) {
      reject(new GrpcError(`${path}: cannot encode the request: ${(e as Error).message}`, Code.InvalidArgument, e));
      return;
    }
    const timeout = deadlineOf(o.timeoutMs);
    let stream: http2.ClientHttp2Stream | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    // The deadline and the signal cover the whole call, connecting included.
    const settle = (e: GrpcError | undefined, value?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (e) {
        if (stream && !stream.closed) stream.close(NGHTTP2_CANCEL);
        reject(e);
      } else {
        resolve(value);
      }
    };
    const onAbort = () => settle(abortedError(signal!));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeout !== undefined) timer = setTimeout(() => settle(new GrpcError("the operation timed out", Code.DeadlineExceeded)), timeout);

    const headers = callHeaders(path, namespace, timeout, o.headers);
    sm.request(headers).then((s) => {
      stream = s;
      if (done) {
        s.on("error", () => { /* the call is over; a session error may still reach the stream */ });
        s.close(NGHTTP2_CANCEL);
        return;
      }
      let status: { code: number; message: string } | undefined;
      const chunks: Buffer[] = [];
      s.on("response", (h) => {
        const st = Number(h[":status"]);
        if (st !== 200) { settle(new GrpcError(`HTTP ${st} from containerd`, codeOfHttpStatus(st))); return; }
        status = grpcStatusOf(h); // a trailers-only answer
      });
      s.on("trailers", (h) => { status = grpcStatusOf(h) ?? status; });
      s.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
      });
      s.on("error", (e: Error) => {
        if (!status) settle(streamEndError(s.rstCode, e));
      });
      s.on("close", () => {
        if (!status) { settle(streamEndError(s.rstCode)); return; }
        if (status.code !== 0) { settle(new GrpcError(status.message, status.code as Code)); return; }
        const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (data.length < 5 || data[0] !== 0 || data.length !== 5 + data.readUInt32BE(1)) {
          settle(new GrpcError(`${path}: the response is not one uncompressed gRPC message`, Code.Internal));
          return;
        }
        try {
          settle(undefined, fromBinary(method.output, data.subarray(5)));
        } catch (e) {
          settle(new GrpcError(`${path}: undecodable response: ${(e as Error).message}`, Code.Internal, e));
        }
      });
      s.end(body);
    }, (e: unknown) => {
      // Connecting failures arrive as GrpcErrors; anything else is ours (a bad header value),
      // and a socket errno in the cause still makes it "unavailable" (rpc-errors.ts).
      settle(e instanceof GrpcError ? e : new GrpcError((e as Error).message, Code.Internal, e));
    });
  });
}
