// Tar building blocks for hostile-archive tests: entries in any order with PAX records, raw
// ustar blocks (for GNU long names, which tar-stream never writes), and the checks that nothing
// changed: a directory's snapshot and what berthd's containerd namespace holds.
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import tar from "tar-stream";
import type { Berthd } from "./berthd.js";

/** A tar of entries in order; `pax` sets PAX records (a PAX path is what counts). */
export interface HEntry {
  name: string;
  type?: tar.Header["type"];
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}
export async function mkTar(entries: HEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => { for await (const c of pack) out.push(c as Buffer); })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    await new Promise<void>((resolve, reject) => {
      const h = {
        name: e.name, type, uname: "", gname: "", mode: e.mode ?? (type === "directory" ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date("2024-01-01T00:00:00Z"),
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}), size: type === "file" ? data.length : 0,
        ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}), ...(e.pax ? { pax: e.pax } : {}),
      } as tar.Header;
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") pack.entry(h, data, cb); else pack.entry(h, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

/** One ustar header block, written by hand (tar-stream writes PAX, never GNU long names). */
export function ustarBlock(n: string, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(n.slice(0, 99), 0);
  h.write("0000644\0", 100); h.write("0000000\0", 108); h.write("0000000\0", 116);
  h.write(size.toString(8).padStart(11, "0") + "\0", 124); h.write("14540000000\0", 136);
  h.write("        ", 148); h.write(type, 156); h.write("ustar  \0", 257);
  let sum = 0;
  for (const x of h) sum += x;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return h;
}

/** A GNU long-name entry ("././@LongLink", type L) naming the file that follows. */
export function gnuLongName(name: string, data: string): Buffer {
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
  const nameBytes = Buffer.from(name + "\0");
  return Buffer.concat([ustarBlock("././@LongLink", nameBytes.length, "L"), pad(nameBytes), ustarBlock("short", data.length, "0"), pad(Buffer.from(data)), Buffer.alloc(1024)]);
}

/** Every name under `dir` with mode, owner, mtime, links and content hash: what a write would change. */
export async function dirSnapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (d: string) => {
    for (const n of (await fs.readdir(d)).sort()) {
      const p = path.join(d, n);
      const st = await fs.lstat(p);
      lines.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${st.nlink} ${st.isFile() ? createHash("sha256").update(await fs.readFile(p)).digest("hex") : ""}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  const st = await fs.lstat(dir);
  lines.push(`. ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`);
  await walk(dir);
  return lines.join("\n");
}

/** What a refused operation must not leave behind, in berthd's containerd namespace. */
export async function containerdState(b: Berthd) {
  const c = b.containerd();
  try {
    const content: string[] = [];
    for await (const r of c.content.rpc.list({})) content.push(...r.info.map((i) => i.digest));
    const snapshots: string[] = [];
    for await (const r of c.snapshots.rpc.list({ snapshotter: "overlayfs" })) snapshots.push(...r.info.map((i) => i.name));
    return {
      images: (await c.images.rpc.list({})).images.map((i) => i.name).sort(),
      content: content.sort(),
      ingests: (await c.content.rpc.listStatuses({})).statuses.map((s) => s.ref),
      snapshots: snapshots.sort(),
      leases: (await c.leases.rpc.list({})).leases.map((l) => l.id),
    };
  } finally {
    await c.close();
  }
}

