#!/usr/bin/env node
// berthd's entry. The V8 heap is set up (heap.ts) before the daemon's modules load and run their
// top levels, which is where most of start-up's allocation happens; then berthd-main.ts runs.
import { tuneHeap } from "./heap.js";

tuneHeap();
await import("./berthd-main.js");
