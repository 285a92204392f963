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
import vm from "node:vm";

export const HEAP_GROWING_PERCENT = 200;

/** Whether node's command line or NODE_OPTIONS holds a flag matching `re` (the user's choice wins). */
function nodeChose(execArgv: readonly string[], nodeOptions: string | undefined, re: RegExp): boolean {
  return [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((a) => re.test(a));
}

/** The V8 flag berthd sets, or undefined when the user chose one. */
export function heapFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  return nodeChose(execArgv, nodeOptions, /^--heap[-_]growing[-_]percent(=|$)/) ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

// Start-up runs most of berthd's code once (every module's top level, flag parsing, the
// restore): TurboFan optimising it was wasted work, and it brought ~3.5 MB of the node binary's
// compiler pages and ~3 MB of heap into an idle daemon's RSS. berthd starts with the
// interpreter and baseline compiler only; TurboFan is on again once berthd serves, for the code
// that turns out hot under load.
//
// The young generation: V8 doubles it (up to 2 x 16 MB) whenever a scavenge finds much of it
// alive. Start-up (every module's top level, the protobuf descriptors, the restore) and any burst
// of requests look like that, and V8 only shrinks it again once its memory reducer runs, seconds
// to minutes after the daemon went quiet: an idle berthd kept 8-32 MB of young generation, and
// 200 containers created 4 at a time left berthd at 112 MiB of RSS 2 s after the last start,
// 90-92 MiB with the young generation kept at its initial size (bench:scale). The price is more,
// smaller scavenges: 35 instead of 8 over 100 `docker exec`, 0.35 instead of 0.25 ms of GC per
// exec, and no measurable change in image load or pull (bench:images). --max-semi-space-size
// cannot change at run time; the growth factor is read at each growth, and node's own
// semi-space options win.

/** The start-up settings berthd applies: those of `flags` that node's own options do not set. */
export function startupFlags(execArgv: readonly string[], nodeOptions: string | undefined): { start: string[]; serving: string[] } {
  const chose = (re: RegExp) => nodeChose(execArgv, nodeOptions, re);
  const start: string[] = [];
  const serving: string[] = [];
  const growing = heapFlag(execArgv, nodeOptions);
  if (growing) start.push(growing);
  if (!chose(/^--(max|min)[-_]semi[-_]space[-_]size(=|$)|^--semi[-_]space[-_]growth[-_]factor(=|$)/)) {
    start.push("--semi-space-growth-factor=1");
  }
  if (!chose(/^--(no[-_])?(opt|turbofan)$/)) {
    start.push("--no-opt");
    serving.push("--opt");
  }
  return { start, serving };
}

let serving: string[] = [];

export function tuneHeap(): void {
  const flags = startupFlags(process.execArgv, process.env.NODE_OPTIONS);
  for (const f of flags.start) v8.setFlagsFromString(f);
  serving = flags.serving;
}

/** berthd is up: hot code is optimised. */
export function heapStarted(): void {
  for (const f of serving) v8.setFlagsFromString(f);
  serving = [];
}

// The room of factor 3 has a price once berthd goes quiet: after a burst (200 containers
// created) the old generation held ~20 MB of garbage that no mark-compact came to collect, since
// only reaching the limit triggers one, and V8's memory reducer (which shrinks the heap of an
// idle isolate) only starts after a mark-compact. So berthd watches its own idleness: when the
// event loop was nearly idle over a whole interval and the heap has grown since berthd last
// collected, one full GC runs (a few ms), which also lets the memory reducer start.
const IDLE_CHECK_MS = 10_000;
const IDLE_UTILIZATION = 0.02;
const GROWTH_BYTES = 8 << 20;

/** The collector's decision, for tests: collect when idle enough and grown enough. */
export function shouldCollect(utilization: number, heapTotal: number, afterLastCollect: number): boolean {
  return utilization < IDLE_UTILIZATION && heapTotal - afterLastCollect > GROWTH_BYTES;
}

let idleTimer: NodeJS.Timeout | undefined;

/** Starts the idle collector (once); it never keeps the process alive. */
export function startIdleCollector(): void {
  if (idleTimer) return;
  v8.setFlagsFromString("--expose-gc");
  // The gc function of a new context (--expose-gc applies to contexts made after it is set).
  const gc = vm.runInNewContext("gc") as (o?: { type: "major"; execution: "sync" }) => void;
  // V8's own figure: process.memoryUsage() would also read the RSS from /proc at every check.
  const heapTotal = () => v8.getHeapStatistics().total_heap_size;
  let baseline = heapTotal();
  let elu = performance.eventLoopUtilization();
  idleTimer = setInterval(() => {
    const now = performance.eventLoopUtilization(elu);
    elu = performance.eventLoopUtilization();
    const total = heapTotal();
    if (shouldCollect(now.utilization, total, baseline)) {
      gc({ type: "major", execution: "sync" });
      baseline = heapTotal();
    } else if (total < baseline) {
      baseline = total;
    }
  }, IDLE_CHECK_MS);
  idleTimer.unref();
}
