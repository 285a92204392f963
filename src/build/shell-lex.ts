// Variable substitution in Dockerfile words, as the classic builder's shell lexer does it
// (moby builder/dockerfile/shell): quotes are removed, `$VAR`, `${VAR}`, `${VAR:-word}`,
// `${VAR:+word}` and `${VAR:?message}` expand from the given environment, the escape character
// (`\` or `` ` `` from the escape directive) quotes the next character. Nothing else of a shell
// (no globbing, no command substitution, no `${VAR-word}` without the colon) is supported, as there.
import { errInvalidArgument } from "../base/errors.js";

/** `KEY=value` entries; the first entry of a name wins (the builder puts ENV before build args). */
export type EnvList = readonly string[];

export function lookupEnv(env: EnvList, name: string): string | undefined {
  for (const e of env) {
    const i = e.indexOf("=");
    if (i < 0) { if (e === name) return ""; continue; }
    if (e.slice(0, i) === name) return e.slice(i + 1);
  }
  return undefined;
}

class Lexer {
  pos = 0;
  constructor(readonly s: string, readonly env: EnvList, readonly escape: string) {}

  peek(): string | undefined { return this.pos < this.s.length ? this.s[this.pos] : undefined; }
  next(): string | undefined { return this.pos < this.s.length ? this.s[this.pos++] : undefined; }

  /** Reads up to (not including) `stop` at the top level; `words` splits on unquoted whitespace. */
  processStopOn(stop: string | undefined, words?: string[]): string {
    let out = "";
    // Whether the current word has content even when empty ("" is a word for ProcessWords).
    let inWord = false;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        if (stop !== undefined) throw errInvalidArgument(`unexpected end of statement while looking for matching ${stop}`);
        break;
      }
      if (ch === stop) { this.next(); break; }
      if (words && (ch === " " || ch === "\t" || ch === "\n" || ch === "\r")) {
        this.next();
        if (inWord) { words.push(out); out = ""; inWord = false; }
        continue;
      }
      inWord = true;
      if (ch === "'") { out += this.singleQuote(); continue; }
      if (ch === '"') { out += this.doubleQuote(); continue; }
      if (ch === "$") { out += this.dollar(); continue; }
      this.next();
      if (ch === this.escape) {
        const n = this.next();
        // A trailing escape character is dropped.
        if (n !== undefined) out += n;
        continue;
      }
      out += ch;
    }
    if (words && inWord) words.push(out);
    return out;
  }

  singleQuote(): string {
    this.next();
    let out = "";
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw errInvalidArgument("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") return out;
      out += ch;
    }
  }

  doubleQuote(): string {
    this.next();
    let out = "";
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw errInvalidArgument("unexpected end of statement while looking for matching double-quote");
      if (ch === '"') { this.next(); return out; }
      if (ch === "$") { out += this.dollar(); continue; }
      this.next();
      if (ch === this.escape) {
        const n = this.peek();
        if (n === undefined) continue;
        // Inside double quotes only ", $ and the escape character itself are escaped.
        if (n === '"' || n === "$" || n === this.escape) { out += this.next(); continue; }
      }
      out += ch;
    }
  }

  name(): string {
    let name = "";
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) break;
      if (name === "" && /[0-9]/.test(ch)) {
        while (this.peek() !== undefined && /[0-9]/.test(this.peek()!)) name += this.next();
        return name;
      }
      if (name === "" && /[*#$@?!-]/.test(ch)) { this.next(); return ch; }
      if (!/[A-Za-z0-9_]/.test(ch)) break;
      name += this.next();
    }
    return name;
  }

  dollar(): string {
    this.next();
    if (this.peek() !== "{") {
      const name = this.name();
      if (name === "") return "$";
      return lookupEnv(this.env, name) ?? "";
    }
    this.next();
    const name = this.name();
    const ch = this.next();
    if (ch === "}") return lookupEnv(this.env, name) ?? "";
    if (ch === ":") {
      const modifier = this.next();
      const word = this.processStopOn("}");
      const value = lookupEnv(this.env, name);
      switch (modifier) {
        case "+": return value ? word : "";
        case "-": return value ? value : word;
        case "?":
          if (!value) throw errInvalidArgument(`${name}: ${word || "is not allowed to be unset"}`);
          return value;
        default: throw errInvalidArgument(`unsupported modifier (${modifier ?? ""}) in substitution`);
      }
    }
    throw errInvalidArgument("missing ':' in substitution");
  }
}

/** One word with quotes removed and variables expanded (ENV values, WORKDIR, COPY paths, ...). */
export function processWord(word: string, env: EnvList, escape = "\\"): string {
  return new Lexer(word, env, escape).processStopOn(undefined);
}

/** Splits on unquoted whitespace after expansion (the words of EXPOSE, VOLUME, ...). */
export function processWords(text: string, env: EnvList, escape = "\\"): string[] {
  const words: string[] = [];
  new Lexer(text, env, escape).processStopOn(undefined, words);
  return words;
}
