// The Dockerfile's line structure, as the classic builder reads it (buildkit's
// frontend/dockerfile/parser as vendored by dockerd 20.10): parser directives at the top,
// comments, line continuations with the escape character, then one node per instruction with
// its lower-cased keyword, its leading `--flags` and the rest of the line. Argument shapes
// (JSON arrays, name=value pairs, words) are read here too; what they mean is instructions.ts.
import { errInvalidArgument } from "../base/errors.js";

export interface DockerfileNode {
  /** Lower-cased keyword ("from", "run", ...). */
  cmd: string;
  /** `--name=value` flags before the arguments, as written. */
  flags: string[];
  /** The text after the keyword and flags. */
  rest: string;
  /** The instruction as written (continuations joined), printed in `Step n/m : ...`. */
  original: string;
  startLine: number;
  endLine: number;
}

export interface ParsedDockerfile {
  nodes: DockerfileNode[];
  escape: string;
  /** Parser directives seen (escape, syntax); the classic builder ignores `syntax`. */
  directives: Record<string, string>;
  warnings: string[];
}

/** A parse error names the line as dockerd does ("dockerfile parse error line 3: ..."). */
export function parseErrorAt(line: number, msg: string): Error {
  return errInvalidArgument(`dockerfile parse error line ${line}: ${msg}`);
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(["escape", "syntax"]);

const isComment = (line: string) => /^\s*#/.test(line);
const trimLeft = (s: string) => s.replace(/^[ \t\r\n\f\v]+/, "");

function continuationRegex(escape: string): RegExp {
  return new RegExp(`${escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const directives: Record<string, string> = {};
  const warnings: string[] = [];
  let escape = "\\";
  let i = 0;
  // Directives: only at the very top, before any blank line, comment or instruction.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break;
    if (key in directives) throw errInvalidArgument(`only one ${key} parser directive can be used`);
    directives[key] = m[2]!;
    if (key === "escape") {
      if (m[2] !== "\\" && m[2] !== "`") throw errInvalidArgument(`invalid ESCAPE '${m[2]}'. Must be \` or \\`);
      escape = m[2]!;
    }
  }
  const cont = continuationRegex(escape);
  const nodes: DockerfileNode[] = [];
  for (; i < lines.length; i++) {
    const first = lines[i]!;
    if (isComment(first)) continue;
    const startLine = i + 1;
    let line = trimLeft(first);
    let ended = !cont.test(line);
    if (!ended) line = line.replace(cont, "");
    if (ended && line.trim() === "") continue;
    let emptyContinuation = false;
    while (!ended && i + 1 < lines.length) {
      i++;
      const raw = lines[i]!;
      if (isComment(raw)) continue;
      if (raw.trim() === "") { emptyContinuation = true; continue; }
      ended = !cont.test(raw);
      line += ended ? raw : raw.replace(cont, "");
    }
    if (emptyContinuation) warnings.push(`[WARNING]: Empty continuation line found in:\n    ${line}`);
    const node = nodeFromLine(line, startLine, i + 1, escape);
    if (node) nodes.push(node);
  }
  return { nodes, escape, directives, warnings };
}

function nodeFromLine(line: string, startLine: number, endLine: number, escape: string): DockerfileNode | undefined {
  const trimmed = line.trim();
  if (trimmed === "") return undefined;
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed)!;
  const cmd = m[1]!.toLowerCase();
  const { flags, rest } = extractFlags(m[2] ?? "", escape);
  return { cmd, flags, rest, original: line, startLine, endLine };
}

/** Leading `--flag[=value]` words (quotes honoured, as in `--chown="a b"`), then the rest. */
export function extractFlags(s: string, escape: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && /\s/.test(s[pos]!)) pos++;
    if (!s.startsWith("--", pos)) break;
    let word = "";
    let quote = "";
    for (; pos < s.length; pos++) {
      const ch = s[pos]!;
      if (quote) {
        if (ch === quote) { quote = ""; continue; }
        if (ch === escape && quote === '"' && pos + 1 < s.length) { word += s[++pos]; continue; }
        word += ch;
        continue;
      }
      if (/\s/.test(ch)) break;
      if (ch === '"' || ch === "'") { quote = ch; continue; }
      if (ch === escape && pos + 1 < s.length) { word += s[++pos]; continue; }
      word += ch;
    }
    if (quote) throw errInvalidArgument(`unmatched quote in flag ${word}`);
    if (word === "--") break;
    flags.push(word);
  }
  return { flags, rest: s.slice(pos).trim() };
}

/**
 * Words separated by unquoted whitespace, quotes and escapes kept (they are removed later by
 * the shell lexer): the reader of ENV, LABEL and ARG.
 */
export function splitWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let blankOk = false;
  let quote = "";
  for (let pos = 0; pos < rest.length; pos++) {
    let ch = rest[pos]!;
    if (!quote && /\s/.test(ch)) {
      if (inWord && (blankOk || word.length > 0)) words.push(word);
      word = ""; inWord = false; blankOk = false;
      continue;
    }
    inWord = true;
    if (quote) {
      if (ch === quote) quote = "";
      else if (ch === escape && quote !== "'") {
        if (pos + 1 === rest.length) continue;
        word += ch;
        ch = rest[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') { quote = ch; blankOk = true; }
    else if (ch === escape) {
      if (pos + 1 === rest.length) continue;
      word += ch;
      ch = rest[++pos]!;
    }
    word += ch;
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word);
  return words;
}

/** ENV and LABEL: `key value` (old form, one pair) or `k=v k2="v 2"`. Values still quoted. */
export function parseNameValues(rest: string, escape: string, keyword: string): [string, string][] {
  const words = splitWords(rest, escape);
  if (words.length === 0) throw errInvalidArgument(`${keyword} requires at least one argument`);
  if (!words[0]!.includes("=")) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest.trim());
    if (!m || m[2]!.trim() === "") throw errInvalidArgument(`${keyword} must have two arguments`);
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq < 0) throw errInvalidArgument(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (eq === 0) throw errInvalidArgument(`${keyword} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** RUN/CMD/ENTRYPOINT/SHELL: a JSON array of strings is the exec form, anything else a shell line. */
export function parseMaybeJson(rest: string): { json: true; args: string[] } | { json: false; line: string } {
  const t = rest.trim();
  if (t.startsWith("[")) {
    try {
      const v: unknown = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return { json: true, args: v as string[] };
    } catch { /* not JSON: shell form, as dockerd */ }
  }
  return { json: false, line: rest };
}

/** COPY/ADD/VOLUME: a JSON array, or whitespace-separated words (quotes left for the lexer). */
export function parseJsonOrWords(rest: string): string[] {
  const j = parseMaybeJson(rest);
  if (j.json) return j.args;
  return rest.trim() === "" ? [] : rest.trim().split(/\s+/);
}
