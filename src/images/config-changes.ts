// `docker import --change` / `docker commit --change`: Dockerfile-like instructions applied to an
// image config. Supported: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL.
import { errInvalidArgument } from "../base/errors.js";
import type { ContainerConfigJson } from "./oci.js";

/** JSON form `["a","b"]`, else shell form wrapped in `/bin/sh -c`. */
function commandForm(arg: string): string[] {
  const t = arg.trim();
  if (t.startsWith("[")) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    } catch { /* not JSON: shell form, as the Dockerfile parser falls back */ }
  }
  return ["/bin/sh", "-c", t];
}

/** `k=v k2="v 2"` pairs, or the legacy `k v` form (one pair: the rest is the value). */
function keyValues(arg: string, what: string): [string, string][] {
  const t = arg.trim();
  const firstSpace = t.search(/\s/);
  const firstEq = t.indexOf("=");
  if (firstEq < 0 || (firstSpace >= 0 && firstSpace < firstEq)) {
    if (firstSpace < 0) throw errInvalidArgument(`${what} needs a value: ${JSON.stringify(arg)}`);
    return [[t.slice(0, firstSpace), t.slice(firstSpace).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/gy;
  let i = 0;
  while (i < t.length) {
    while (i < t.length && /\s/.test(t[i]!)) i++;
    if (i >= t.length) break;
    re.lastIndex = i;
    const m = re.exec(t);
    if (!m) throw errInvalidArgument(`${what}: cannot parse ${JSON.stringify(t.slice(i))}`);
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
    i = re.lastIndex;
  }
  return out;
}

function listForm(arg: string): string[] {
  const t = arg.trim();
  if (t.startsWith("[")) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    } catch { /* space separated */ }
  }
  return t.split(/\s+/).filter(Boolean);
}

/** Applies the instructions to a copy of `config` and returns it. */
export function applyConfigChanges(config: ContainerConfigJson, changes: readonly string[]): ContainerConfigJson {
  const c: ContainerConfigJson = structuredClone(config);
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(change);
    if (!m) throw errInvalidArgument(`invalid change ${JSON.stringify(change)}`);
    const instr = m[1]!.toUpperCase();
    const arg = (m[2] ?? "").trim();
    if (arg === "") throw errInvalidArgument(`${instr} needs an argument: ${JSON.stringify(change)}`);
    switch (instr) {
      case "CMD": c.Cmd = commandForm(arg); break;
      case "ENTRYPOINT": c.Entrypoint = commandForm(arg); break;
      case "ENV": {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(arg, "ENV")) {
          const i = env.findIndex((e) => e.split("=", 1)[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case "LABEL": {
        const labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of keyValues(arg, "LABEL")) labels[k] = v;
        c.Labels = labels;
        break;
      }
      case "WORKDIR": c.WorkingDir = arg; break;
      case "USER": c.User = arg; break;
      case "STOPSIGNAL": c.StopSignal = arg; break;
      case "EXPOSE": {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of arg.split(/\s+/)) {
          if (!/^\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/i.test(p)) throw errInvalidArgument(`EXPOSE: invalid port ${JSON.stringify(p)}`);
          ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case "VOLUME": {
        const vols = { ...(c.Volumes ?? {}) };
        for (const v of listForm(arg)) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      default:
        throw errInvalidArgument(`${instr} is not supported as a change (supported: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
    }
  }
  return c;
}
