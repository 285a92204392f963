/**
 * Docker's seccomp profile format (moby `profiles/seccomp`): the JSON of dockerd's default
 * profile, of `--security-opt seccomp=<json>` and of dockerd's `--seccomp-profile FILE`. Unlike
 * the OCI `linux.seccomp` it is conditional: syscall groups carry `includes`/`excludes` filters
 * on capabilities, architectures and the kernel version, and `archMap` lists architectures per
 * host architecture. seccomp.ts evaluates a profile into the OCI form.
 *
 * Decoding follows what dockerd 20.10's `json.Unmarshal` into its profile struct accepts: keys
 * match case-insensitively, unknown keys are ignored (e.g. `defaultErrnoRet`, `flags`, which
 * 20.10 does not know), `null` means the zero value, and a wrong JSON type is an error. Beyond
 * dockerd, values runc would only reject at start (an unknown action, operator or architecture,
 * an argument runc cannot represent) are rejected here, when the container is created.
 */
import { errInvalidArgument } from "../../base/errors.js";
import type { LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator } from "../../containerd/oci/spec-types.js";

/** A syscall group's condition (moby `Filter`). */
export interface SeccompFilter {
  caps?: string[] | null;
  /** libseccomp's native names: "amd64", "arm64", "x86", ... */
  arches?: string[] | null;
  /** "<kernel>.<major>", e.g. "4.8". */
  minKernel?: string | null;
}

/** One syscall group, as written in the JSON (moby `Syscall`). */
export interface DockerSeccompSyscall {
  name?: string;
  names?: string[] | null;
  action: LinuxSeccompAction;
  errnoRet?: number | null;
  args?: LinuxSeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
}

/** A profile as written in the JSON (moby `Seccomp`). */
export interface DockerSeccompProfile {
  defaultAction: LinuxSeccompAction | "";
  /** The old format's fixed list; a profile has either this or `archMap`. */
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures: string[] | null }[] | null;
  syscalls: DockerSeccompSyscall[] | null;
}

export interface KernelVersion {
  kernel: number;
  major: number;
}

export interface DecodedFilter {
  caps: string[];
  arches: string[];
  minKernel: KernelVersion | undefined;
}

export interface DecodedSyscall {
  names: string[];
  /** dockerd refuses this, but only in a group that applies to the container. */
  bothNameAndNames: boolean;
  action: LinuxSeccompAction;
  errnoRet: number | undefined;
  args: LinuxSeccompArg[];
  includes: DecodedFilter;
  excludes: DecodedFilter;
}

/** A decoded, validated profile: what seccomp.ts evaluates. */
export interface SeccompProfile {
  defaultAction: LinuxSeccompAction | "";
  architectures: string[];
  archMap: { architecture: string; subArchitectures: string[] }[];
  syscalls: DecodedSyscall[];
}

const ACTIONS: ReadonlySet<string> = new Set<LinuxSeccompAction>([
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
]);
const OPERATORS: ReadonlySet<string> = new Set<LinuxSeccompOperator>([
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
]);
/** The architectures runc 1.1 (Debian 12's) can load a filter for. */
const ARCHES: ReadonlySet<string> = new Set([
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64",
]);

/** A JSON decoding error; dockerd's own checks after decoding are thrown with its words, unprefixed. */
class DecodeError extends Error {}

type Obj = Record<string, unknown>;

/** Go's encoding/json: a struct field matches a key case-insensitively; null is the zero value. */
function fields(v: unknown, where: string, names: readonly string[]): Map<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new DecodeError(`${where}: expected an object, got ${typeName(v)}`);
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  const out = new Map<string, unknown>();
  for (const [k, val] of Object.entries(v as Obj)) {
    const name = byLower.get(k.toLowerCase());
    if (name !== undefined && val !== null) out.set(name, val);
  }
  return out;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string") throw new DecodeError(`${where}: expected a string, got ${typeName(v)}`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new DecodeError(`${where}: expected an array of strings, got ${typeName(v)}`);
  // Go decodes a null element of a []string as "".
  return v.map((s, i) => (s === null ? "" : str(s, `${where}[${i}]`)));
}

/** A uint64 that survives JSON.stringify unchanged: larger values lose precision in a double. */
function uint(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new DecodeError(`${where}: expected an unsigned integer, got ${JSON.stringify(v)}`);
  if (!Number.isSafeInteger(v)) throw new DecodeError(`${where}: ${v} is larger than berth can pass on exactly (2^53-1)`);
  return v;
}

function action(v: unknown, where: string): LinuxSeccompAction {
  const s = str(v, where);
  if (!ACTIONS.has(s)) throw new DecodeError(`${where}: unknown action ${JSON.stringify(s)}`);
  return s as LinuxSeccompAction;
}

function arch(s: string, where: string): string {
  if (!ARCHES.has(s)) throw new DecodeError(`${where}: unknown architecture ${JSON.stringify(s)}`);
  return s;
}

/** moby `KernelVersion.UnmarshalJSON`: "<kernel>.<major>", each 0-255, not 0.0; "" is 0.0. */
function kernelVersion(v: unknown, where: string): KernelVersion {
  const s = str(v, where);
  if (s === "") return { kernel: 0, major: 0 };
  const bad = (why: string) => new DecodeError(`${where}: invalid kernel version ${JSON.stringify(s)}, expected "<kernel>.<major>"${why}`);
  const parts = s.split(".");
  if (parts.length !== 2) throw bad("");
  const [kernel, major] = parts.map((p) => (/^[0-9]+$/.test(p) ? Number(p) : NaN));
  if (!(kernel! <= 255) || !(major! <= 255)) throw bad("");
  if (kernel === 0 && major === 0) throw bad(": version cannot be 0.0");
  return { kernel: kernel!, major: major! };
}

function filter(v: unknown, where: string): DecodedFilter {
  if (v === undefined) return { caps: [], arches: [], minKernel: undefined };
  const f = fields(v, where, ["caps", "arches", "minKernel"]);
  const mk = f.get("minKernel");
  return {
    caps: strList(f.get("caps"), `${where}.caps`),
    arches: strList(f.get("arches"), `${where}.arches`),
    minKernel: mk === undefined ? undefined : kernelVersion(mk, `${where}.minKernel`),
  };
}

function arg(v: unknown, where: string): LinuxSeccompArg {
  const f = fields(v, where, ["index", "value", "valueTwo", "op"]);
  const op = str(f.get("op") ?? "", `${where}.op`);
  if (!OPERATORS.has(op)) throw new DecodeError(`${where}.op: unknown operator ${JSON.stringify(op)}`);
  const index = uint(f.get("index") ?? 0, `${where}.index`);
  // The kernel passes six arguments; runc rejects an index beyond them.
  if (index > 5) throw new DecodeError(`${where}.index: ${index} is not a syscall argument (0-5)`);
  const valueTwo = uint(f.get("valueTwo") ?? 0, `${where}.valueTwo`);
  return { index, value: uint(f.get("value") ?? 0, `${where}.value`), ...(valueTwo ? { valueTwo } : {}), op: op as LinuxSeccompOperator };
}

function syscall(v: unknown, where: string): DecodedSyscall {
  // A null group would crash dockerd's loop; it is an error here.
  const f = fields(v, where, ["name", "names", "action", "errnoRet", "args", "comment", "includes", "excludes"]);
  const name = f.has("name") ? str(f.get("name"), `${where}.name`) : "";
  const names = strList(f.get("names"), `${where}.names`);
  if (f.has("comment")) str(f.get("comment"), `${where}.comment`);
  const args = f.get("args");
  if (args !== undefined && !Array.isArray(args)) throw new DecodeError(`${where}.args: expected an array, got ${typeName(args)}`);
  const errno = f.get("errnoRet");
  return {
    names: name !== "" ? [name] : names,
    bothNameAndNames: name !== "" && names.length > 0,
    action: action(f.get("action") ?? "", `${where}.action`),
    errnoRet: errno === undefined ? undefined : uint(errno, `${where}.errnoRet`),
    args: (args ?? []).map((a, i) => arg(a, `${where}.args[${i}]`)),
    includes: filter(f.get("includes"), `${where}.includes`),
    excludes: filter(f.get("excludes"), `${where}.excludes`),
  };
}

/** Decodes a profile from its parsed JSON (a `DockerSeccompProfile`, or a client's body). */
export function decodeSeccompProfile(v: unknown): SeccompProfile {
  try {
    // json.Unmarshal of `null` leaves the zero profile: no action, no syscalls (unconfined).
    if (v === null) return { defaultAction: "", architectures: [], archMap: [], syscalls: [] };
    const f = fields(v, "profile", ["defaultAction", "architectures", "archMap", "syscalls"]);
    const da = f.get("defaultAction");
    const defaultAction = da === undefined || da === "" ? "" : action(da, "defaultAction");
    const architectures = strList(f.get("architectures"), "architectures").map((a, i) => arch(a, `architectures[${i}]`));
    const am = f.get("archMap");
    if (am !== undefined && !Array.isArray(am)) throw new DecodeError(`archMap: expected an array, got ${typeName(am)}`);
    const archMap = (am ?? []).map((e, i) => {
      const m = fields(e, `archMap[${i}]`, ["architecture", "subArchitectures"]);
      return {
        architecture: arch(str(m.get("architecture") ?? "", `archMap[${i}].architecture`), `archMap[${i}].architecture`),
        subArchitectures: strList(m.get("subArchitectures"), `archMap[${i}].subArchitectures`).map((a, j) => arch(a, `archMap[${i}].subArchitectures[${j}]`)),
      };
    });
    const sc = f.get("syscalls");
    if (sc !== undefined && !Array.isArray(sc)) throw new DecodeError(`syscalls: expected an array, got ${typeName(sc)}`);
    const syscalls = (sc ?? []).map((s, i) => syscall(s, `syscalls[${i}]`));
    // dockerd's checks come after "no action, no syscalls: no filter".
    if (defaultAction !== "" || syscalls.length > 0) {
      if (architectures.length > 0 && archMap.length > 0) {
        throw errInvalidArgument("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
      }
      // dockerd would hand runc an empty default action, which it refuses at start.
      if (defaultAction === "") throw new DecodeError("defaultAction: missing (required when syscalls are listed)");
    }
    return { defaultAction, architectures, archMap, syscalls };
  } catch (e) {
    if (e instanceof DecodeError) throw errInvalidArgument(`Decoding seccomp profile failed: ${e.message}`);
    throw e;
  }
}

/** Parses profile JSON text, as dockerd's `LoadProfile` (the CLI sends a file's content). */
export function parseSeccompProfile(text: string): SeccompProfile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw errInvalidArgument(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  return decodeSeccompProfile(v);
}
