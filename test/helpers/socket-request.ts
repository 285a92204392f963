// One HTTP request over a unix socket (berthd's or dockerd's API), the whole answer as bytes and text.
import http from "node:http";

export interface SocketReply { status: number; body: string; bytes: Buffer }

/** `body` goes as given, with `type` as its Content-Type; the request fails after `timeoutMs`. */
export function socketRequest(socketPath: string, method: string, p: string, o: { body?: string | Buffer; type?: string; timeoutMs?: number } = {}): Promise<SocketReply> {
  return new Promise((resolve, reject) => {
    const data = o.body === undefined ? undefined : Buffer.from(o.body);
    const req = http.request({ socketPath, method, path: p, headers: data ? { "Content-Type": o.type ?? "application/json", "Content-Length": data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: bytes.toString(), bytes });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${method} ${p}`)));
    req.end(data);
  });
}
