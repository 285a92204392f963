// `--log-format text`: pino's JSON lines rewritten as logfmt, the shape of dockerd's default
// (logrus) output: time="..." level=info msg="..." key=value. No pretty-printer dependency: a
// destination stream that reformats each line pino writes.
import { Writable } from "node:stream";

const PINO_LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "fatal" };

function quote(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /^[A-Za-z0-9_.:/@+-]+$/.test(s) ? s : JSON.stringify(s);
}

/** One pino JSON line as logfmt; a line that is not JSON passes unchanged. */
export function formatTextLine(line: string): string {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, pid: _pid, hostname: _host, ...rest } = v;
  const parts = [
    `time=${JSON.stringify(new Date(typeof time === "number" ? time : Date.now()).toISOString())}`,
    `level=${PINO_LEVELS[level as number] ?? String(level)}`,
  ];
  if (msg !== undefined) parts.push(`msg=${JSON.stringify(String(msg))}`);
  for (const [k, x] of Object.entries(rest)) {
    if (k === "err" && x && typeof x === "object") parts.push(`error=${quote((x as { message?: unknown }).message ?? x)}`);
    else parts.push(`${k}=${quote(x)}`);
  }
  return parts.join(" ");
}

/** A destination for pino that writes text lines to `out`. */
export function textDestination(out: NodeJS.WritableStream): Writable {
  let pending = "";
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      pending += chunk.toString();
      let i: number;
      let text = "";
      while ((i = pending.indexOf("\n")) >= 0) {
        text += formatTextLine(pending.slice(0, i)) + "\n";
        pending = pending.slice(i + 1);
      }
      if (text) out.write(text);
      done();
    },
  });
}
