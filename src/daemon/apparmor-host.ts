/**
 * The host side of AppArmor: is it enabled, which profiles are loaded, and loading berth's
 * default profile at daemon start (dockerd's `ensureDefaultAppArmorProfile`). The spec side is
 * src/daemon/oci/apparmor.ts.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { errInternal } from "../base/errors.js";
import { DEFAULT_APPARMOR_PROFILE, renderDefaultAppArmorProfile, type AppArmorHost } from "./oci/apparmor.js";

export interface AppArmorProbe {
  /** Reads a file, undefined when absent. */
  readFile: (file: string) => string | undefined;
  exists: (file: string) => boolean;
}

const realProbe: AppArmorProbe = {
  readFile: (f) => {
    try {
      return readFileSync(f, "utf8");
    } catch {
      return undefined;
    }
  },
  exists: existsSync,
};

const PARSERS = ["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"];

/** Where apparmor_parser is, when AppArmor is enabled in the kernel; undefined otherwise. */
export function appArmorParser(probe: AppArmorProbe = realProbe): string | undefined {
  const enabled = probe.readFile("/sys/module/apparmor/parameters/enabled");
  if (!enabled?.startsWith("Y")) return undefined;
  return PARSERS.find((p) => probe.exists(p));
}

/** Loaded profile names, from the kernel's list ("name (enforce)" per line). */
export function parseLoadedProfiles(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^(.*) \((?:enforce|complain|kill|unconfined|prompt)\)$/.exec(line.trim());
    if (m) names.add(m[1]!);
  }
  return names;
}

/** The AppArmorHost the spec options ask. */
export function appArmorHost(probe: AppArmorProbe = realProbe): AppArmorHost {
  if (!appArmorParser(probe)) return { enabled: false };
  return {
    enabled: true,
    isLoaded: (name) => parseLoadedProfiles(probe.readFile("/sys/kernel/security/apparmor/profiles") ?? "").has(name),
  };
}

/**
 * Generates berth's default profile and loads it (apparmor_parser -Kr: replace, do not cache),
 * when AppArmor is enabled. Returns the host for the spec options.
 */
export async function ensureDefaultAppArmorProfile(
  o: { probe?: AppArmorProbe; run?: (cmd: string, args: string[]) => Promise<unknown> } = {},
): Promise<AppArmorHost> {
  const probe = o.probe ?? realProbe;
  const parser = appArmorParser(probe);
  if (!parser) return { enabled: false };
  const text = renderDefaultAppArmorProfile(DEFAULT_APPARMOR_PROFILE, {
    hasTunables: probe.exists("/etc/apparmor.d/tunables/global"),
    hasAbstractionsBase: probe.exists("/etc/apparmor.d/abstractions/base"),
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-apparmor-"));
  const file = path.join(dir, DEFAULT_APPARMOR_PROFILE);
  try {
    await fs.writeFile(file, text);
    const run = o.run ?? ((cmd: string, args: string[]) => promisify(execFile)(cmd, args));
    await run(parser, ["-Kr", file]).catch((e: unknown) => {
      throw errInternal(`loading the AppArmor profile ${DEFAULT_APPARMOR_PROFILE} failed: ${(e as Error).message}`);
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return appArmorHost(probe);
}
