// The one HTTP/2 session to containerd's unix socket that every call of a client (and of the
// clients it makes for other namespaces) shares. Opened on the first call, opened again after
// containerd closed it (a restart, a GOAWAY); no keepalive pings (grpc-go answers pings more
// frequent than every 5 minutes with GOAWAY "too_many_pings", and a dead containerd is seen at
// once on a unix socket anyway). The session holds the event loop open only while a call is in
// flight, so a program that forgets close() still exits.
import http2 from "node:http2";
import net from "node:net";

/** What a call on an aborted session fails with (an "unavailable" kind, rpc-errors.ts). */
const closedError = () => Object.assign(new Error("session closed"), { code: "ERR_HTTP2_SESSION_ERROR" });

export class H2Session {
  #session: http2.ClientHttp2Session | undefined;
  /** The session being connected: callers wait for it rather than open a second one. */
  #connecting: Promise<http2.ClientHttp2Session> | undefined;
  #open = 0;
  #aborted = false;

  constructor(readonly address: string) {}

  /** Starts a call: resolves with its stream, or rejects with the socket's error (ENOENT, ECONNREFUSED...). */
  async request(headers: http2.OutgoingHttpHeaders): Promise<http2.ClientHttp2Stream> {
    const s = this.#usable() ?? (await this.#connect());
    const stream = s.request({ ":method": "POST", ...headers });
    if (this.#open++ === 0) s.ref();
    stream.once("close", () => {
      if (--this.#open === 0 && !s.destroyed) s.unref();
    });
    return stream;
  }

  /** Ends the session and every call on it; later requests fail (the client is closed). */
  abort(): void {
    this.#aborted = true;
    this.#session?.destroy();
    this.#session = undefined;
  }

  #usable(): http2.ClientHttp2Session | undefined {
    const s = this.#session;
    return s && !s.closed && !s.destroyed ? s : undefined;
  }

  #connect(): Promise<http2.ClientHttp2Session> {
    if (this.#aborted) return Promise.reject(closedError());
    this.#connecting ??= new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      const s = http2.connect("http://localhost", { createConnection: () => net.connect(this.address) });
      const forget = () => {
        if (this.#session === s) this.#session = undefined;
      };
      const failConnect = (e: Error) => {
        this.#connecting = undefined;
        forget();
        s.destroy();
        reject(e);
      };
      s.once("error", failConnect);
      s.once("connect", () => {
        s.off("error", failConnect);
        if (this.#aborted) {
          this.#connecting = undefined;
          s.destroy();
          reject(closedError());
          return;
        }
        // Errors after the connect reach the streams on the session; the session only goes away.
        s.on("error", forget);
        this.#connecting = undefined;
        this.#session = s;
        s.unref();
        resolve(s);
      });
      // containerd stopping sends GOAWAY: calls in flight finish, new ones take a new session.
      s.on("goaway", forget);
      s.on("close", forget);
    });
    return this.#connecting;
  }
}
