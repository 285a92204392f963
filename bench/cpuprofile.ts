// bench/cpuprofile.ts — summarises a V8 .cpuprofile (`node --cpu-prof`) as self and total time
// per function and self time per package/module, so a miss in docs/benchmarks.md can name its
// hot path. Samples before --skip-ms (default 0) from the profile's start can be left out, which
// drops start-up work (module loading, tsx/esbuild transpiling) that is not per operation; so can
// --from TEXT, which starts at the first sample whose stack has a frame matching TEXT (a function
// name or file, e.g. "execCreate").
//
//   tsx bench/cpuprofile.ts PROFILE.cpuprofile [--top 30] [--skip-ms 5000] [--until-ms 9000] [--from TEXT] [--json out.json]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface FunctionTime { name: string; where: string; selfMs: number; totalMs: number }
export interface ProfileSummary {
  windowMs: number;
  sampledMs: number;
  /** (idle), (program), (garbage collector) and everything else. */
  categories: Record<string, number>;
  functions: FunctionTime[];
  modules: { module: string; selfMs: number }[];
  /** Self time charged to the nearest frame (leaf first) that is berth's code or a package: who caused node's and V8's work. */
  owners: { module: string; ms: number }[];
}

/** The package (node_modules/<pkg>) or repository path a script URL belongs to. */
export function moduleOf(url: string): string {
  if (!url) return "(native/V8)";
  if (url.startsWith("node:")) return "node:internal";
  const p = url.replace(/^file:\/\//, "");
  const nm = p.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = p.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(src|dist|bench|test)\/(.*)$/.exec(p);
  return m ? `${m[1]}/${m[2]}` : p;
}

const isOwner = (url: string) => !!url && !url.startsWith("node:");

export function summarize(profile: CpuProfile, o: { skipMs?: number; untilMs?: number; from?: string } = {}): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"}\u0000${n.callFrame.url ? `${n.callFrame.url.replace(/^file:\/\//, "")}:${n.callFrame.lineNumber + 1}` : ""}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  const owners = new Map<string, number>();
  const categories: Record<string, number> = {};
  const skipUs = (o.skipMs ?? 0) * 1000;
  const stackHas = (id: number, text: string) => {
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const f = byId.get(x)!.callFrame;
      if (`${f.functionName} ${f.url}`.includes(text)) return true;
    }
    return false;
  };
  let t = 0;
  let sampled = 0;
  let firstUs: number | undefined;
  let lastUs = 0;
  let started = !o.from;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the sample stands for the interval up to the next.
    t += profile.timeDeltas[i] ?? 0;
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (t < skipUs || dt <= 0) continue;
    if (o.untilMs !== undefined && t > o.untilMs * 1000) break;
    const n = byId.get(profile.samples[i]!);
    if (!n) continue;
    if (!started) {
      if (!stackHas(n.id, o.from!)) continue;
      started = true;
    }
    firstUs ??= t;
    lastUs = t;
    sampled += dt;
    const fn = n.callFrame.functionName;
    const cat = fn === "(idle)" || fn === "(program)" || fn === "(garbage collector)" ? fn : "(JavaScript and native)";
    categories[cat] = (categories[cat] ?? 0) + dt;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + dt);
    if (cat === "(JavaScript and native)") {
      const mod = moduleOf(n.callFrame.url);
      modules.set(mod, (modules.get(mod) ?? 0) + dt);
      let owner = "(node/V8 only)";
      for (let x: number | undefined = n.id; x !== undefined; x = parent.get(x)) {
        const url = byId.get(x)!.callFrame.url;
        if (isOwner(url)) { owner = moduleOf(url); break; }
      }
      owners.set(owner, (owners.get(owner) ?? 0) + dt);
    }
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const functions = [...self.keys(), ...[...total.keys()].filter((k) => !self.has(k))].map((k) => {
    const [name, where] = k.split("\u0000") as [string, string];
    return { name, where, selfMs: self.get(k) ?? 0, totalMs: total.get(k) ?? 0 };
  });
  return {
    windowMs: firstUs === undefined ? 0 : (lastUs - firstUs) / 1000,
    sampledMs: sampled,
    categories,
    functions,
    modules: [...modules].map(([module, selfMs]) => ({ module, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
    owners: [...owners].map(([module, ms]) => ({ module, ms })).sort((a, b) => b.ms - a.ms),
  };
}

export function render(s: ProfileSummary, top: number, repoRoot = ""): string {
  const rel = (w: string) => (repoRoot && w.startsWith(repoRoot + "/") ? w.slice(repoRoot.length + 1) : w).replace(/^.*\/node_modules\//, "");
  const ms = (v: number) => v.toFixed(1);
  const busy = s.sampledMs - (s.categories["(idle)"] ?? 0);
  const L: string[] = [];
  L.push(`window ${ms(s.windowMs)} ms, sampled ${ms(s.sampledMs)} ms, busy (not idle) ${ms(busy)} ms`);
  for (const [c, v] of Object.entries(s.categories).sort((a, b) => b[1] - a[1])) L.push(`  ${c.padEnd(26)} ${ms(v).padStart(9)} ms${c === "(idle)" ? "" : `  ${((100 * v) / Math.max(busy, 1e-9)).toFixed(1).padStart(5)}% of busy`}`);
  L.push("");
  L.push(`self time by module (top ${top}):`);
  for (const m of s.modules.slice(0, top)) L.push(`  ${ms(m.selfMs).padStart(9)} ms  ${((100 * m.selfMs) / Math.max(busy, 1e-9)).toFixed(1).padStart(5)}%  ${m.module}`);
  L.push("");
  L.push(`self time by owner: the nearest frame of berth or of a package up the stack (top ${top}):`);
  for (const m of s.owners.slice(0, top)) L.push(`  ${ms(m.ms).padStart(9)} ms  ${((100 * m.ms) / Math.max(busy, 1e-9)).toFixed(1).padStart(5)}%  ${m.module}`);
  L.push("");
  L.push(`self time by function (top ${top}):`);
  const fns = s.functions.filter((f) => !f.name.startsWith("(") || f.name === "(anonymous)");
  for (const f of [...fns].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) L.push(`  ${ms(f.selfMs).padStart(9)} ms  ${f.name}  ${rel(f.where)}`);
  L.push("");
  L.push(`total (inclusive) time by function (top ${top}):`);
  for (const f of [...fns].sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) L.push(`  ${ms(f.totalMs).padStart(9)} ms  ${f.name}  ${rel(f.where)}`);
  return L.join("\n") + "\n";
}

function main(): number {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "30" }, "skip-ms": { type: "string", default: "0" }, "until-ms": { type: "string" }, from: { type: "string" }, json: { type: "string" } } });
  const file = positionals[0];
  if (!file) {
    process.stderr.write("usage: cpuprofile.ts PROFILE.cpuprofile [--top N] [--skip-ms MS] [--until-ms MS] [--from FUNCTION-OR-FILE] [--json out.json]\n");
    return 1;
  }
  const s = summarize(JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile, { skipMs: Number(values["skip-ms"]), ...(values["until-ms"] ? { untilMs: Number(values["until-ms"]) } : {}), ...(values.from ? { from: values.from } : {}) });
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(s, null, 1));
  process.stdout.write(render(s, Number(values.top), path.resolve(fileURLToPath(import.meta.url), "../..")));
  return 0;
}

if (fileURLToPath(import.meta.url) === path.resolve(process.argv[1] ?? "")) process.exitCode = main();
