// The host as /info reports it: what the kernel offers containers (cgroup controllers and their
// knobs, the cgroup version), whether forwarding and bridge netfilter are on, and the warnings
// dockerd derives from them. Reading is injected so that the logic is tested on any host; the
// facts are read at each /info, as dockerd does (a sysctl changes while the daemon runs).
import { access, readFile } from "node:fs/promises";

export interface HostFacts {
  cgroupVersion: "1" | "2";
  memoryLimit: boolean;
  swapLimit: boolean;
  kernelMemoryTCP: boolean;
  oomKillDisable: boolean;
  cpuCfsPeriod: boolean;
  cpuCfsQuota: boolean;
  cpuShares: boolean;
  cpuSet: boolean;
  pidsLimit: boolean;
  ipv4Forwarding: boolean;
  bridgeNfIptables: boolean;
  bridgeNfIp6tables: boolean;
  /** dockerd's wording, in its order. */
  warnings: string[];
}

export interface HostReader {
  readFile(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
}

export const realHostReader: HostReader = {
  readFile: (p) => readFile(p, "utf8").catch(() => undefined),
  exists: (p) => access(p).then(() => true, () => false),
};

/** cgroup v1 controller → its mount point, from /proc/self/mountinfo. */
export function cgroupV1Mounts(mountinfo: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!pre || !post) continue;
    const [fstype, , superOpts] = post.split(" ");
    if (fstype !== "cgroup") continue;
    const mountPoint = pre.split(" ")[4];
    if (!mountPoint) continue;
    for (const opt of (superOpts ?? "").split(",")) {
      if (opt !== "rw" && opt !== "ro" && !opt.includes("=") && !out.has(opt)) out.set(opt, mountPoint);
    }
  }
  return out;
}

const procBool = async (r: HostReader, p: string) => (await r.readFile(p))?.trim() === "1";

export async function readHostFacts(r: HostReader = realHostReader): Promise<HostFacts> {
  const f: Omit<HostFacts, "warnings"> = await ((await r.exists("/sys/fs/cgroup/cgroup.controllers")) ? cgroupV2Facts(r) : cgroupV1Facts(r));
  return { ...f, warnings: warningsOf(f) };
}

type CgroupFacts = Pick<HostFacts, "cgroupVersion" | "memoryLimit" | "swapLimit" | "kernelMemoryTCP" | "oomKillDisable" | "cpuCfsPeriod" | "cpuCfsQuota" | "cpuShares" | "cpuSet" | "pidsLimit">;

async function netFacts(r: HostReader) {
  return {
    ipv4Forwarding: await procBool(r, "/proc/sys/net/ipv4/ip_forward"),
    bridgeNfIptables: await procBool(r, "/proc/sys/net/bridge/bridge-nf-call-iptables"),
    bridgeNfIp6tables: await procBool(r, "/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
  };
}

async function cgroupV1Facts(r: HostReader): Promise<Omit<HostFacts, "warnings">> {
  const mounts = cgroupV1Mounts((await r.readFile("/proc/self/mountinfo")) ?? "");
  const has = async (controller: string, file: string) => {
    const m = mounts.get(controller);
    return m !== undefined && r.exists(`${m}/${file}`);
  };
  const memory = mounts.has("memory");
  const cg: CgroupFacts = {
    cgroupVersion: "1",
    memoryLimit: memory,
    swapLimit: await has("memory", "memory.memsw.limit_in_bytes"),
    kernelMemoryTCP: await has("memory", "memory.kmem.tcp.limit_in_bytes"),
    oomKillDisable: await has("memory", "memory.oom_control"),
    cpuCfsPeriod: await has("cpu", "cpu.cfs_period_us"),
    cpuCfsQuota: await has("cpu", "cpu.cfs_quota_us"),
    cpuShares: await has("cpu", "cpu.shares"),
    cpuSet: mounts.has("cpuset"),
    pidsLimit: mounts.has("pids"),
  };
  return { ...cg, ...(await netFacts(r)) };
}

/** v2: the controllers the root offers to its children (dockerd reads cgroup.subtree_control... of its own group; the root's list is the upper bound). */
async function cgroupV2Facts(r: HostReader): Promise<Omit<HostFacts, "warnings">> {
  const controllers = new Set(((await r.readFile("/sys/fs/cgroup/cgroup.controllers")) ?? "").trim().split(/\s+/));
  const memory = controllers.has("memory");
  const cpu = controllers.has("cpu");
  const cg: CgroupFacts = {
    cgroupVersion: "2",
    memoryLimit: memory,
    // memory.swap.max exists below the root only; dockerd 20.10 assumes it with the controller.
    swapLimit: memory,
    kernelMemoryTCP: false,
    oomKillDisable: false,
    cpuCfsPeriod: cpu,
    cpuCfsQuota: cpu,
    cpuShares: cpu,
    cpuSet: controllers.has("cpuset"),
    pidsLimit: controllers.has("pids"),
  };
  return { ...cg, ...(await netFacts(r)) };
}

/** dockerd 20.10's info warnings for these facts (daemon/info_unix.go), same text and order. */
export function warningsOf(f: Omit<HostFacts, "warnings">): string[] {
  const w: string[] = [];
  if (!f.memoryLimit) w.push("WARNING: No memory limit support");
  if (!f.swapLimit) w.push("WARNING: No swap limit support");
  if (f.cgroupVersion === "1" && !f.oomKillDisable) w.push("WARNING: No oom kill disable support");
  if (!f.cpuCfsQuota) w.push("WARNING: No cpu cfs quota support");
  if (!f.cpuCfsPeriod) w.push("WARNING: No cpu cfs period support");
  if (!f.cpuShares) w.push("WARNING: No cpu shares support");
  if (!f.cpuSet) w.push("WARNING: No cpuset support");
  if (!f.ipv4Forwarding) w.push("WARNING: IPv4 forwarding is disabled");
  if (!f.bridgeNfIptables) w.push("WARNING: bridge-nf-call-iptables is disabled");
  if (!f.bridgeNfIp6tables) w.push("WARNING: bridge-nf-call-ip6tables is disabled");
  return w;
}

/** The /info fields these facts fill (SystemInfo's host, cgroupVersion, warnings). */
export async function hostInfoFields(r: HostReader = realHostReader) {
  const { warnings, cgroupVersion, ...host } = await readHostFacts(r);
  return { host, cgroupVersion, warnings };
}
