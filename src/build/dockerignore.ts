// .dockerignore as the docker CLI reads and applies it (moby's dockerignore.ReadAll and
// fileutils.PatternMatcher): one pattern a line, `#` comments, `!` exceptions, Go
// filepath.Match syntax (`*`, `?`, `[...]`, `\` escapes) plus `**` for any number of
// directories; the last matching pattern decides, and a pattern matching a parent directory
// matches everything under it.
import { cleanPath } from "../base/go-parse.js";

export interface IgnorePattern {
  /** The cleaned pattern (without `!`). */
  pattern: string;
  exclusion: boolean;
  regex: RegExp;
  /** Path segments of the pattern: a parent directory of that depth is tried too. */
  depth: number;
}

/** The lines of a .dockerignore file, cleaned as the CLI cleans them. */
export function readDockerignore(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith("#")) continue;
    let p = raw.trim();
    if (p === "") continue;
    const invert = p.startsWith("!");
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
    }
    out.push(invert ? "!" + p : p);
  }
  return out;
}

function compile(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") i++;
        // `**` at the end takes everything; elsewhere any number of directories, even none.
        re += i + 1 >= pattern.length ? ".*" : "(.*/)?";
      } else {
        re += "[^/]*";
      }
    } else if (ch === "?") {
      re += "[^/]";
    } else if (ch === "[") {
      // A character class as filepath.Match spells it: `[!...]` negates.
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) { re += "\\["; continue; }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body.replace(/\\(.)/g, "\\$1")}]`;
      i = end;
    } else if (ch === "\\") {
      if (i + 1 < pattern.length) re += "\\" + pattern[++i];
      else re += "\\\\";
    } else {
      re += ch.replace(/[.$^+(){}|]/g, "\\$&");
    }
  }
  return new RegExp(re + "$", "s");
}

export function compilePatterns(lines: readonly string[]): IgnorePattern[] {
  return lines.map((line) => {
    const exclusion = line.startsWith("!");
    const pattern = exclusion ? line.slice(1) : line;
    return { pattern, exclusion, regex: compile(pattern), depth: pattern.split("/").length };
  });
}

/** Whether a context-relative path (`a/b/c`, no leading slash) is excluded. */
export function isExcluded(file: string, patterns: readonly IgnorePattern[]): boolean {
  let matched = false;
  const parent = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
  const parentDirs = parent.split("/");
  for (const p of patterns) {
    let match = p.regex.test(file);
    if (!match && parent !== "." && p.depth <= parentDirs.length) {
      match = p.regex.test(parentDirs.slice(0, p.depth).join("/"));
    }
    if (match) matched = !p.exclusion;
  }
  return matched;
}
