/**
 * Devices: `--device` nodes with their cgroup rules, `--device-cgroup-rule`, and `--privileged`
 * (which also widens capabilities, paths and mounts, so every privileged change is in one place).
 * The host's device nodes are found by the caller (daemon/host-devices.ts): this stays pure.
 */
import { errInvalidArgument } from "../../base/errors.js";
import type { LinuxDevice, LinuxDeviceCgroup } from "../../containerd/oci/spec-types.js";
import { KNOWN_CAPABILITIES, syncCapabilitySets } from "./capabilities.js";
import { type SpecOpt, linuxOf, processOf, resourcesOf } from "./spec-opt.js";

/** A device node to create in the container, with the cgroup access it is given. */
export interface ResolvedDevice {
  /** `path` is where it appears in the container. */
  device: LinuxDevice;
  /** Any of "rwm". */
  access: string;
}

/** docker's device mode: a non-empty combination of r, w and m, each at most once. */
export function isValidDeviceMode(mode: string): boolean {
  return mode !== "" && mode.length <= 3 && /^[rwm]+$/.test(mode) && new Set(mode).size === mode.length;
}

function cgroupRule(d: LinuxDevice, access: string): LinuxDeviceCgroup {
  return { allow: true, type: d.type, major: d.major, minor: d.minor, access };
}

/** Adds device nodes, each followed by an allow rule for it after the default rules. */
export function withDevices(devices: readonly ResolvedDevice[]): SpecOpt {
  for (const { device, access } of devices) {
    if (!isValidDeviceMode(access)) throw errInvalidArgument(`invalid device mode: ${access}`);
    if (!device.path.startsWith("/")) throw errInvalidArgument(`${device.path} is not an absolute path`);
  }
  const copy = devices.map((d) => ({ device: { ...d.device }, access: d.access }));
  return (spec) => {
    const linux = linuxOf(spec);
    const resources = resourcesOf(spec);
    for (const { device, access } of copy) {
      linux.devices = [...(linux.devices ?? []).filter((d) => d.path !== device.path), { ...device }];
      resources.devices = [...(resources.devices ?? []), cgroupRule(device, access)];
    }
  };
}

// moby's DeviceCgroupRule syntax: "<type> <major>:<minor> <access>", * for any number.
const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** Parses one `--device-cgroup-rule`; "c 1:3 rwm", "b 7:* r", "a *:* m". */
export function parseDeviceCgroupRule(rule: string): LinuxDeviceCgroup {
  const m = CGROUP_RULE.exec(rule);
  if (!m) throw errInvalidArgument(`invalid device cgroup format '${rule}'`);
  const [, type, major, minor, access] = m as unknown as [string, string, string, string, string];
  return {
    allow: true,
    type,
    ...(major === "*" ? {} : { major: Number(major) }),
    ...(minor === "*" ? {} : { minor: Number(minor) }),
    access,
  };
}

/** `--device-cgroup-rule`: allow rules appended after the default and --device ones. */
export function withDeviceCgroupRules(rules: readonly string[]): SpecOpt {
  const parsed = rules.map(parseDeviceCgroupRule);
  return (spec) => {
    const resources = resourcesOf(spec);
    resources.devices = [...(resources.devices ?? []), ...parsed.map((r) => ({ ...r }))];
  };
}

/**
 * `--privileged`, as dockerd 20.10 applies it: every known capability (CapAdd/CapDrop do not
 * matter) — of those in `daemonBounding` when given: runc cannot grant what the daemon itself
 * lacks (dockerd fails to start the container there; berth gives what it can, as podman does), the host's device nodes with access to every device, no masked or read-only paths,
 * /sys and the cgroup mount writable, and no seccomp filter. Apply it after the options it
 * overrides (capabilities, devices, masked paths, any seccomp option): it removes
 * `linux.seccomp`, and a seccomp option applied later must check the container's privileged
 * flag itself (dockerd runs privileged containers unconfined).
 */
export function withPrivileged(hostDevices: readonly LinuxDevice[], daemonBounding?: readonly string[]): SpecOpt {
  const copy = hostDevices.map((d) => ({ ...d }));
  const caps = daemonBounding ? KNOWN_CAPABILITIES.filter((c) => daemonBounding.includes(c)) : [...KNOWN_CAPABILITIES];
  return (spec) => {
    const proc = processOf(spec);
    (proc.capabilities ??= {}).bounding = [...caps];
    syncCapabilitySets(spec);
    const linux = linuxOf(spec);
    const own = linux.devices ?? [];
    // A --device at a host path is the host's node already; keep the container's other ones.
    const hostPaths = new Set(copy.map((d) => d.path));
    linux.devices = [...copy, ...own.filter((d) => !hostPaths.has(d.path))];
    resourcesOf(spec).devices = [{ allow: true, access: "rwm" }];
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
    delete linux.seccomp;
    for (const m of spec.mounts ?? []) {
      if (m.destination === "/sys" || m.type === "cgroup") m.options = (m.options ?? []).filter((o) => o !== "ro");
    }
  };
}
