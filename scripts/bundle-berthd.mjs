#!/usr/bin/env node
// Bundles berthd (src/cli/berthd.ts and everything it imports) into dist/cli/berthd.js, after
// `tsc` has type-checked and emitted the library under dist/. One file instead of ~500 ES
// modules: Node resolves, reads and links each module separately, which was most of berthd's
// start-up (~0.4 s of CPU) and ~15 MB of its RSS (docs/performance.md, "A lean daemon").
// What berthd loads only when first used (the registry client, the metrics server, ...) is a
// dynamic import() in the sources and becomes a chunk of its own (dist/cli/berthd-*.js).
// koffi stays a package: it loads a native addon from its own directory.
import { build } from "esbuild";
import { rmSync, readdirSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const outdir = `${root}dist/cli`;
for (const f of readdirSync(outdir)) if (/^berthd-.*\.js(\.map)?$/.test(f)) rmSync(`${outdir}/${f}`);

await build({
  entryPoints: { berthd: `${root}src/cli/berthd.ts` },
  outdir,
  entryNames: "[name]",
  chunkNames: "berthd-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // Smaller source held in memory: no whitespace or comments, and ASCII only (one non-ASCII
  // character makes V8 keep the whole script as two-byte characters, twice the memory). Names
  // are kept, so stack traces stay readable without the source map.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: "ascii",
  external: ["koffi"],
  // CommonJS packages inside an ES module bundle call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);' },
  logLevel: "warning",
});
