/** Capabilities: docker's names, `--cap-add`/`--cap-drop`, and the sets runc applies. */
import { errInvalidArgument } from "../../base/errors.js";
import { goQuote as quote } from "../../base/go-parse.js";
import type { Spec } from "../../containerd/oci/spec-types.js";
import { type SpecOpt, dedupe, processOf } from "./spec-opt.js";

/**
 * The capabilities dockerd 20.10 knows: the kernel's, CAP_CHOWN through CAP_AUDIT_READ, in
 * number order. dockerd 20.10 stops at AUDIT_READ on purpose (runc of the time could not set
 * PERFMON, BPF, CHECKPOINT_RESTORE), so those are "unknown" here too and not part of "ALL";
 * runc 1.1.5 would accept them, so adding them later is a one-line change.
 */
export const KNOWN_CAPABILITIES: readonly string[] = Object.freeze(
  [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
  ].map((c) => `CAP_${c}`),
);

const knownCapabilities = new Set(KNOWN_CAPABILITIES);

/**
 * docker's `--cap-add`/`--cap-drop` spelling: any case, with or without "CAP_", or "ALL".
 * Returns "CAP_*" names (and "ALL"); an unknown name is invalid-argument, as in dockerd.
 */
export function normalizeCapabilities(caps: readonly string[]): string[] {
  return caps.map((raw) => {
    const upper = raw.toUpperCase();
    if (upper === "ALL") return upper;
    const name = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
    if (!knownCapabilities.has(name)) throw errInvalidArgument(`unknown capability: ${quote(name)}`);
    return name;
  });
}

/**
 * After the user or the bounding set changes: root gets effective = permitted = bounding; any
 * other user gets bounding only (dockerd `oci.SetCapabilities`, what execve does for non-root).
 * Inheritable and ambient are never set.
 */
export function syncCapabilitySets(spec: Spec): void {
  const proc = processOf(spec);
  const caps = (proc.capabilities ??= {});
  const bounding = caps.bounding ?? [];
  if (proc.user.uid === 0) {
    caps.effective = [...bounding];
    caps.permitted = [...bounding];
  } else {
    delete caps.effective;
    delete caps.permitted;
  }
}

export interface CapabilityChanges {
  add?: readonly string[];
  drop?: readonly string[];
}

/**
 * dockerd's `TweakCapabilities` on the spec's current bounding set: "ALL" in add gives every
 * known capability except those dropped; "ALL" in drop gives exactly `add`; otherwise drop,
 * then add — so a capability both added and dropped ends up present, as in dockerd. Use this
 * one option for a container's CapAdd/CapDrop together; withCapAdd/withCapDrop apply one side.
 */
export function withCapabilities(changes: CapabilityChanges): SpecOpt {
  // dockerd validates drops first, so a bad drop is the error reported when both are bad.
  const drop = normalizeCapabilities(changes.drop ?? []);
  const add = normalizeCapabilities(changes.add ?? []);
  return (spec) => {
    const proc = processOf(spec);
    const caps = (proc.capabilities ??= {});
    const basics = caps.bounding ?? [];
    let result: string[];
    if (add.length === 0 && drop.length === 0) {
      result = [...basics];
    } else if (add.includes("ALL")) {
      result = KNOWN_CAPABILITIES.filter((c) => !drop.includes(c));
    } else if (drop.includes("ALL")) {
      result = [...add];
    } else {
      result = [...basics.filter((c) => !drop.includes(c)), ...add];
    }
    // dockerd can list a capability twice (default + added); runc does not care, a set reads better.
    caps.bounding = dedupe(result);
    syncCapabilitySets(spec);
  };
}

export const withCapAdd = (add: readonly string[]): SpecOpt => withCapabilities({ add });
export const withCapDrop = (drop: readonly string[]): SpecOpt => withCapabilities({ drop });
