import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { containerConfig, generateContainerId, hostConfig, newContainerRecord } from "./record.js";
import { createContainerStore, RECORD_FILE } from "./store.js";
import { versionLabels } from "./testdata/store-versions.js";

const KILLS = 200;
const LANES = 2; // one writer per core; each lane has its own root and container
const MAX_KILL_DELAY_MS = 25;

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = resolve(here, "..");
const repoRoot = resolve(srcRoot, "..");

/**
 * Transpiles the writer and the modules it imports to plain JavaScript once. Starting each of the
 * 200 children with `--import tsx` costs ~110 ms of loader start-up per child (≈ 35 s of CPU on
 * two cores); plain node starts in ~50 ms. The child runs the same store.ts source either way.
 */
async function buildWriter(outRoot: string): Promise<string> {
  const entry = join(here, "testdata", "store-writer.ts");
  const todo = [entry];
  const done = new Set<string>();
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    const source = await readFile(file, "utf8");
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const dest = join(outRoot, relative(srcRoot, file)).replace(/\.ts$/, ".js");
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, outputText);
    for (const m of source.matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)) todo.push(resolve(dirname(file), `${m[1]}.ts`));
  }
  await writeFile(join(outRoot, "package.json"), '{ "type": "module" }\n');
  await linkPackages(join(repoRoot, "node_modules"), join(outRoot, "node_modules"));
  return join(outRoot, relative(srcRoot, entry)).replace(/\.ts$/, ".js");
}

/** Bare imports resolve to the repository's packages. */
async function linkPackages(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) await symlink(join(from, name), join(to, name));
}

interface Round {
  /** Highest sequence number the child acknowledged as saved, if any. */
  acked: number | undefined;
  stderr: string;
}

/** Starts a writer, SIGKILLs it a random moment after it began writing, waits for it to be gone. */
function killRound(writer: string, root: string, id: string, firstSeq: number): Promise<Round> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [writer, root, id, String(firstSeq)], { stdio: ["ignore", "pipe", "pipe"] });
    const round: Round = { acked: undefined, stderr: "" };
    let buffered = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === "ready") {
          timer = setTimeout(() => child.kill("SIGKILL"), Math.random() * MAX_KILL_DELAY_MS);
        } else {
          round.acked = Number(line);
        }
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (round.stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`writer exited by itself (code ${code}): ${round.stderr}`));
      else resolvePromise(round);
    });
  });
}

test(`store: ${KILLS} SIGKILLs mid-save never leave a torn or lost record`, { timeout: 60_000 }, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), "berth-crash-"));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const writer = await buildWriter(join(tmp, "build"));

  let tornWindowHits = 0; // kills that left a temp file: the save was cut mid-way
  let advanced = 0; // rounds whose child completed at least one save

  const lane = async (n: number) => {
    const root = join(tmp, `lane-${n}`);
    const id = generateContainerId();
    const store = createContainerStore({ root });
    let onDisk = 0;
    await store.save(
      newContainerRecord({
        id,
        name: "/crash",
        config: containerConfig({ image: "busybox", labels: versionLabels(0) }),
        hostConfig: hostConfig(),
        imageId: "sha256:" + "e".repeat(64),
        driver: "overlayfs",
        now: () => new Date(0),
      }),
    );

    for (let round = 0; round < KILLS / LANES; round++) {
      const { acked } = await killRound(writer, root, id, onDisk + 1);
      const last = acked ?? onDisk;
      if (acked !== undefined) advanced++;

      const files = await readdir(store.containerDir(id));
      if (files.some((f) => f !== RECORD_FILE)) tornWindowHits++;

      const { records, problems } = await store.loadAll();
      assert.deepEqual(problems, [], `round ${round} of lane ${n}`);
      assert.equal(records.length, 1);
      const labels = records[0]!.config.labels;
      const seq = Number(labels["seq"]);
      // The acknowledged version, or the next one if the kill came between rename and ack.
      assert.ok(seq === last || seq === last + 1, `lane ${n} round ${round}: on disk ${seq}, acknowledged ${last}`);
      assert.deepEqual(labels, versionLabels(seq), `lane ${n} round ${round}: version ${seq} is not intact`);
      assert.deepEqual(await readdir(store.containerDir(id)), [RECORD_FILE], "loadAll removed the leftovers");
      onDisk = seq;
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));

  t.diagnostic(`${advanced}/${KILLS} children saved at least once; ${tornWindowHits} kills landed mid-save`);
  // The test is only worth something if kills really interrupted saves.
  assert.ok(advanced > KILLS / 2, `only ${advanced} children got to save`);
  assert.ok(tornWindowHits > 0, "no kill landed inside a save");
});
