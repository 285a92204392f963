// The V8 heap setting berthd runs with (set from berthd.ts, before the daemon starts).
//
// V8 sizes the old generation's room to grow by a factor it picks from GC and allocation speed
// (1.1x to 4x of what a full GC leaves). Every 64 KiB that Node reads from a socket is a new
// ArrayBuffer, and V8 counts their bytes against that room until a GC frees them. berthd's live
// heap is small (~16 MB), so with a low factor the room was ~24 MB: during an image load (212 MB
// through the API socket) the dead read buffers filled it every ~100 ms and each filling forced
// a full mark-compact, 8-11 per load instead of none. Which regime a run fell into changed from
// run to run (a low factor, once chosen, was chosen again), and the full GCs cost berthd ~35 %
// more CPU on a load (docs/benchmarks.md, "Images"). A fixed factor of 3 (inside V8's own range)
// leaves room for what the young generation's scavenges free anyway.
//
// The flag is read each time V8 recomputes the limit, so setting it at run time takes effect.
// A --heap-growing-percent on node's command line or in NODE_OPTIONS wins.
import v8 from "node:v8";

export const HEAP_GROWING_PERCENT = 200;

/** The V8 flag berthd sets, or undefined when the user chose one. */
export function heapFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const chosen = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a));
  return chosen ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

export function tuneHeap(): void {
  const flag = heapFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag) v8.setFlagsFromString(flag);
}
