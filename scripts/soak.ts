// npm run soak -- --minutes N   (default 2; bounded)
// A mixed workload against one berthd with faults: containerd killed (its supervisor restarts it)
// and berthd SIGKILLed and restarted. Prints operations done, errors by kind, objects leaked at
// the end (must be 0) and berthd's RSS over time (must not grow without bound).
import fs from "node:fs";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { buildBusyboxImage } from "../src/images/index.js";
import { startBerthd } from "../test/helpers/berthd.js";

const arg = process.argv.indexOf("--minutes");
const minutes = Math.min(60, Math.max(0.2, Number(arg >= 0 ? process.argv[arg + 1] : 2)));
const end = Date.now() + minutes * 60_000;
const rnd = (n: number) => Math.floor(Math.random() * n);

const b = await startBerthd({ label: "soak" });
const counts = new Map<string, number>();
const count = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
const rss: { t: number; mb: number }[] = [];
let faults = { containerdKills: 0, berthdKills: 0 };
try {
  const tar = await buildBusyboxImage();
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ socketPath: b.socket, method: "POST", path: "/images/load?quiet=1" }, (res) => { res.resume(); res.on("end", () => resolve()); });
    req.on("error", reject);
    req.end(tar);
  });
  const t0 = Date.now();
  const sampler = setInterval(() => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${b.pid}/status`, "utf8"))?.[1] ?? 0);
      rss.push({ t: Math.round((Date.now() - t0) / 1000), mb: Math.round(kb / 1024) });
    } catch { /* restarting */ }
  }, 5000);
  let restarting = false;
  const ids: string[] = [];
  const op = async () => {
    const pick = ids[rnd(ids.length)];
    const what = rnd(12);
    const call = async (name: string, method: string, p: string, body?: unknown) => {
      try {
        const r = await b.request(method, p, body);
        count(`${name} ${r.status}`);
        return r;
      } catch (e) {
        count(`${name} ${restarting ? "daemon-down" : (e as NodeJS.ErrnoException).code ?? "error"}`);
        // berthd is restarting: do not spin.
        await sleep(100);
        return undefined;
      }
    };
    if (what < 3 || !pick) {
      const r = await call("create", "POST", "/containers/create", { Image: "busybox", Cmd: ["sh", "-c", "while true; do echo tick; sleep 0.5; done"], HostConfig: { NetworkMode: "none" } });
      if (r?.status === 201) ids.push((JSON.parse(r.body) as { Id: string }).Id);
    } else if (what < 5) await call("start", "POST", `/containers/${pick}/start`);
    else if (what < 6) await call("stop", "POST", `/containers/${pick}/stop?t=1`);
    else if (what < 8) {
      const r = await call("exec", "POST", `/containers/${pick}/exec`, { Cmd: ["true"], AttachStdout: false });
      if (r?.status === 201) await call("exec-start", "POST", `/exec/${(JSON.parse(r.body) as { Id: string }).Id}/start`, { Detach: true });
    } else if (what < 9) await call("logs", "GET", `/containers/${pick}/logs?stdout=1&tail=5`);
    else if (what < 10) await call("inspect", "GET", `/containers/${pick}/json`);
    else {
      const r = await call("rm", "DELETE", `/containers/${pick}?force=1`);
      if (r?.status === 204 || r?.status === 404) ids.splice(ids.indexOf(pick), 1);
    }
  };
  const workers = Array.from({ length: 4 }, async () => { while (Date.now() < end) await op(); });
  const faulter = (async () => {
    while (Date.now() < end) {
      await sleep(5000 + rnd(10_000));
      if (Date.now() >= end) break;
      if (rnd(2) === 0) {
        const pid = Number(fs.readFileSync(`${b.root}/containerd/containerd.pid`, "utf8").trim());
        try { process.kill(pid, "SIGKILL"); faults.containerdKills++; } catch { /* gone */ }
      } else {
        restarting = true;
        await b.kill();
        faults.berthdKills++;
        await b.restart();
        restarting = false;
      }
    }
  })();
  await Promise.all([...workers, faulter]);
  clearInterval(sampler);

  // Remove everything through the API; whatever containerd still holds afterwards leaked.
  await sleep(2000);
  const all = JSON.parse((await b.request("GET", "/containers/json?all=1")).body) as { Id: string }[];
  for (const c of all) await b.request("DELETE", `/containers/${c.Id}?force=1`);
  const ctd = b.containerd();
  const containers = (await ctd.containers.list()).length;
  const tasks = (await ctd.tasks.rpc.list({})).tasks.length;
  let snapshots = 0;
  for await (const r of ctd.snapshots.rpc.list({ snapshotter: "overlayfs" })) snapshots += r.info.filter((i) => i.kind === 2).length;
  await ctd.close();
  const ops = [...counts.values()].reduce((a, n) => a + n, 0);
  console.log(`soak: ${minutes} min, ${ops} operations, ${faults.containerdKills} containerd kills, ${faults.berthdKills} berthd kills`);
  console.log("outcomes:");
  for (const [k, n] of [...counts.entries()].sort()) console.log(`  ${k.padEnd(22)} ${n}`);
  console.log(`leaked: containers ${containers}, tasks ${tasks}, snapshots ${snapshots}`);
  console.log(`berthd RSS (MB) over time: ${rss.map((r) => `${r.t}s:${r.mb}`).join(" ")}`);
  if (containers + tasks + snapshots > 0) process.exitCode = 1;
} finally {
  await b.destroy();
}
