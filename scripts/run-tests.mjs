#!/usr/bin/env node
// Runs the test suites with node:test through tsx. Node 20's --test takes no globs, so the
// file list is built here. Usage: node scripts/run-tests.mjs [unit|integration|compat|all] [filter]
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const tier = process.argv[2] ?? "all";
const filter = process.argv[3];

function walk(dir, out = []) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === "node_modules" || name === "gen") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const tiers = {
  unit: () => walk(join(root, "src")),
  integration: () => walk(join(root, "test", "integration")),
  compat: () => walk(join(root, "test", "compat")),
};
const chosen = tier === "all" ? ["unit", "integration", "compat"] : [tier];
let files = [];
for (const t of chosen) {
  if (!tiers[t]) { console.error(`unknown tier ${t}`); process.exit(2); }
  files.push(...tiers[t]().sort());
}
if (filter) files = files.filter((f) => f.includes(filter));
if (files.length === 0) { console.error("no test files matched"); process.exit(1); }
// Integration files each start their own containerd; one file at a time keeps the machine's
// 2 cores from being oversubscribed by parallel shims. One node:test run gives one summary.
const args = ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=1",
  ...files.map((f) => relative(root, f))];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
