// cgroups through the real docker CLI, selected by what this host is (v1 or v2): limits in the
// container's cgroup files, the cgroup namespace, /info's version and driver, and the stats JSON
// fields dockerd fills for that version. The same tests run against dockerd with
// COMPAT_DOCKER_HOST=unix:///path/docker.sock (busybox:latest loaded).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { Berthd } from "../helpers/berthd.js";
import { startCompatBerthd } from "../helpers/compat.js";
import { DOCKER, runDocker } from "../helpers/docker-cli.js";
import { HOST_CGROUP_VERSION, ONLY_V2, cgroupFile } from "../helpers/cgroups.js";

const HAVE_CLI = existsSync(DOCKER);
const AGAINST_DOCKERD = !!process.env.COMPAT_DOCKER_HOST;
let b: Berthd | undefined;
let host = process.env.COMPAT_DOCKER_HOST ?? "";
let tmp: string;
const NET = ["--network", "none"];
const V1 = HOST_CGROUP_VERSION === 1;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cgroups-"));
  if (!host) {
    ({ berthd: b, host } = await startCompatBerthd("cgroups", tmp));
  }
});
after(async () => {
  await b?.destroy();
  await fs.rm(tmp, { recursive: true, force: true });
});

const docker = (args: string[]) => runDocker(host, args);
async function run(args: string[], script: string): Promise<string> {
  const r = await docker(["run", "--rm", ...args, "busybox", "sh", "-c", script]);
  assert.equal(r.code, 0, `docker run ${args.join(" ")} sh -c '${script}' failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
function getJson(p: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath: host.replace(/^unix:\/\//, ""), path: p }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    }).on("error", reject);
  });
}

describe("cgroups as this host has them", { skip: HAVE_CLI ? false : `no docker CLI at ${DOCKER}` }, () => {
  test("docker info: the host's cgroup version; cgroupfs, or systemd by default on a systemd v2 host", async () => {
    const out = (await docker(["info", "--format", "{{.CgroupVersion}} {{.CgroupDriver}}"])).stdout.trim();
    const driver = !V1 && existsSync("/run/systemd/system") ? "systemd" : "cgroupfs";
    assert.equal(out, `${HOST_CGROUP_VERSION} ${driver}`);
  });

  test("--memory, --memory-swap, --memory-reservation, --cpus, --cpu-shares, --pids-limit reach the cgroup files", async () => {
    const args = [...NET, "--memory", "64m", "--memory-swap", "96m", "--memory-reservation", "32m", "--cpus", "1.5", "--cpu-shares", "512", "--pids-limit", "50"];
    if (V1) {
      const files = ["memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes", "memory/memory.soft_limit_in_bytes", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares", "pids/pids.max"];
      const out = await run(args, `cd /sys/fs/cgroup && cat ${files.join(" ")}`);
      assert.equal(out, [64 << 20, 96 << 20, 32 << 20, 150000, 100000, 512, 50].join("\n") + "\n");
    } else {
      // runc's v2 mapping: swap.max = memory+swap − memory, low = reservation, cpu.weight from shares.
      const out = await run(args, "cd /sys/fs/cgroup && cat memory.max memory.swap.max memory.low cpu.max cpu.weight pids.max");
      assert.equal(out, [64 << 20, 32 << 20, 32 << 20, "150000 100000", 20, 50].join("\n") + "\n");
    }
  });

  test("--blkio-weight reaches the io cgroup (v2: io.bfq.weight, or io.weight converted as runc does)", async (t) => {
    if (V1 && !existsSync("/sys/fs/cgroup/blkio/blkio.weight")) return t.skip("no blkio.weight on this v1 host (no CFQ/BFQ)");
    const script = V1 ? `cat ${cgroupFile("blkio/blkio.weight", "")}` : "cat io.bfq.weight 2>/dev/null | head -1 || true; cat io.weight 2>/dev/null | head -1 || true";
    const out = await run([...NET, "--blkio-weight", "300"], `cd /sys/fs/cgroup && ${script}`);
    if (V1) assert.equal(out, "300\n");
    // 1 + (300 − 10) × 9999 / 990 = 2930 on io.weight; 300 as-is on io.bfq.weight.
    else assert.match(out, /(^default 300$)|(^300$)|(^default 2930$)/m);
  });

  test("--cgroupns: the default is host on v1 and private on v2, and each mode does what it says", async () => {
    const name = `cgns-${process.pid}`;
    assert.equal((await docker(["create", "--name", name, ...NET, "busybox", "true"])).code, 0);
    try {
      assert.equal((await docker(["inspect", "-f", "{{.HostConfig.CgroupnsMode}}", name])).stdout.trim(), V1 ? "host" : "private");
    } finally {
      await docker(["rm", "-f", name]);
    }
    const own = (out: string) => (V1 ? /^\d+:memory:(\S+)$/m : /^0::(\S+)$/m).exec(out)?.[1];
    assert.equal(own(await run([...NET, "--cgroupns", "private"], "cat /proc/self/cgroup")), "/");
    assert.match(own(await run([...NET, "--cgroupns", "host"], "cat /proc/self/cgroup")) ?? "", /[0-9a-f]{64}(\.scope)?$/);
  });

  test("stats: the fields dockerd fills on this cgroup version; docker stats shows memory", async () => {
    const r = await docker(["run", "-d", ...NET, "busybox", "sleep", "100"]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    try {
      const s = await getJson(`/containers/${id}/stats?stream=false`);
      assert.ok(s.memory_stats.usage > 0);
      assert.equal(s.pids_stats.current, 1);
      assert.ok(s.cpu_stats.cpu_usage.total_usage > 0);
      if (V1) {
        assert.equal(typeof s.memory_stats.stats.total_inactive_file, "number");
        assert.equal(typeof s.memory_stats.max_usage, "number");
        assert.ok(Array.isArray(s.cpu_stats.cpu_usage.percpu_usage));
      } else {
        assert.equal(typeof s.memory_stats.stats.inactive_file, "number");
        assert.equal(typeof s.memory_stats.stats.anon, "number");
        assert.equal(s.memory_stats.stats.total_inactive_file, undefined);
        assert.equal(s.memory_stats.max_usage, undefined);
        assert.equal(s.cpu_stats.cpu_usage.percpu_usage, undefined);
        assert.equal(s.blkio_stats.io_serviced_recursive, null);
      }
      const mem = (await docker(["stats", "--no-stream", "--format", "{{.MemUsage}} {{.PIDs}}", id])).stdout.trim();
      assert.match(mem, /^[\d.]+[KMG]iB \/ [\d.]+[KMGT]iB 1$/);
    } finally {
      await docker(["rm", "-f", id]);
    }
  });

  test("v2: swappiness and oom-kill-disable, which dockerd discards there, are refused", { skip: ONLY_V2 || (AGAINST_DOCKERD && "dockerd discards them with a warning") }, async () => {
    for (const flags of [["--memory-swappiness", "10"], ["--memory", "64m", "--oom-kill-disable"]]) {
      const r = await docker(["run", "--rm", ...NET, ...flags, "busybox", "true"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /swappiness|OomKillDisable/);
    }
  });
});
