import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { type ErrorKind, isBerthError } from "../../base/errors.js";
import { fromHumanSize, parseJsonFileLogOptions, ramInBytes } from "./log-options.js";

function assertError(fn: () => unknown, message: string, kind: ErrorKind = "invalid-argument"): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isBerthError(e, kind), `expected ${kind}, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

describe("fromHumanSize (docker/go-units, decimal: the json-file max-size)", () => {
  it("reads go-units' own examples", () => {
    const cases: [string, number][] = [
      ["32", 32], ["32b", 32], ["32B", 32], ["32k", 32e3], ["32K", 32e3], ["32kb", 32e3], ["32Kb", 32e3],
      ["32Mb", 32e6], ["32Gb", 32e9], ["32Tb", 32e12], ["32Pb", 32e15], ["32.5kB", 32500], ["32.5 kB", 32500],
      ["32.5 B", 32], ["0.3 K", 300], ["10m", 10_000_000], ["1g", 1e9], ["10k", 10_000], ["32KiB", 32e3],
      ["1.5m", 1_500_000], ["1e3", 1000],
    ];
    for (const [s, n] of cases) assert.equal(fromHumanSize(s), n, s);
  });

  it("rejects what go-units rejects, with its messages", () => {
    assertError(() => fromHumanSize(""), "invalid size: ''");
    assertError(() => fromHumanSize("hello"), "invalid size: 'hello'");
    assertError(() => fromHumanSize("-32"), "invalid size: '-32'");
    assertError(() => fromHumanSize(" 32 "), 'strconv.ParseFloat: parsing " 32": invalid syntax');
    assertError(() => fromHumanSize("32m b"), 'strconv.ParseFloat: parsing "32m": invalid syntax');
    assertError(() => fromHumanSize("32bm"), "invalid suffix: 'bm'");
    assertError(() => fromHumanSize("10x"), "invalid suffix: 'x'");
    assertError(() => fromHumanSize("10mx"), "invalid suffix: 'mx'");
    assertError(() => fromHumanSize("10mibs"), "invalid suffix: 'mibs'");
    assertError(() => fromHumanSize("1.2.3m"), 'strconv.ParseFloat: parsing "1.2.3": invalid syntax');
  });
});

describe("ramInBytes (binary: max-buffer-size)", () => {
  it("uses 1024", () => {
    assert.equal(ramInBytes("32k"), 32 * 1024);
    assert.equal(ramInBytes("1m"), 1024 * 1024);
    assert.equal(ramInBytes("32.3 mb"), Math.trunc(32.3 * 1024 * 1024));
  });
});

describe("parseJsonFileLogOptions", () => {
  it("defaults: no rotation, one file, blocking", () => {
    assert.deepEqual(parseJsonFileLogOptions({}), { maxSize: undefined, maxFile: 1, mode: "blocking", maxBufferSize: undefined });
  });

  it("parses max-size (decimal) and max-file", () => {
    const c = parseJsonFileLogOptions({ "max-size": "10m", "max-file": "3" });
    assert.equal(c.maxSize, 10_000_000);
    assert.equal(c.maxFile, 3);
    assert.equal(parseJsonFileLogOptions({ "max-file": "+02" }).maxFile, 2);
  });

  it("accepts max-file without max-size, as dockerd does (nothing rotates)", () => {
    assert.deepEqual(parseJsonFileLogOptions({ "max-file": "5" }).maxSize, undefined);
  });

  it("passes labels, env, tag through for the engine", () => {
    const c = parseJsonFileLogOptions({ labels: "a,b", "labels-regex": "^x", env: "E", "env-regex": "^E", tag: "{{.Name}}" });
    assert.deepEqual([c.labels, c.labelsRegex, c.env, c.envRegex, c.tag], ["a,b", "^x", "E", "^E", "{{.Name}}"]);
  });

  it("takes dockerd's built-in mode and max-buffer-size", () => {
    const c = parseJsonFileLogOptions({ mode: "non-blocking", "max-buffer-size": "4m" });
    assert.equal(c.mode, "non-blocking");
    assert.equal(c.maxBufferSize, 4 * 1024 * 1024);
    assert.equal(parseJsonFileLogOptions({ mode: "blocking" }).mode, "blocking");
  });

  it("rejects bad values with dockerd's messages", () => {
    assertError(() => parseJsonFileLogOptions({ "max-size": "0" }), "max-size must be a positive number");
    assertError(() => parseJsonFileLogOptions({ "max-size": "0.5" }), "max-size must be a positive number");
    assertError(() => parseJsonFileLogOptions({ "max-size": "ten" }), "invalid size: 'ten'");
    assertError(() => parseJsonFileLogOptions({ "max-size": "10q" }), "invalid suffix: 'q'");
    assertError(() => parseJsonFileLogOptions({ "max-file": "0" }), "max-file cannot be less than 1");
    assertError(() => parseJsonFileLogOptions({ "max-file": "-1" }), "max-file cannot be less than 1");
    assertError(() => parseJsonFileLogOptions({ "max-file": "two" }), 'strconv.Atoi: parsing "two": invalid syntax');
    assertError(() => parseJsonFileLogOptions({ "max-file": "1.5" }), 'strconv.Atoi: parsing "1.5": invalid syntax');
    assertError(() => parseJsonFileLogOptions({ "max-file": "" }), 'strconv.Atoi: parsing "": invalid syntax');
    assertError(() => parseJsonFileLogOptions({ compress: "maybe" }), 'strconv.ParseBool: parsing "maybe": invalid syntax');
    assertError(() => parseJsonFileLogOptions({ compress: "true" }),
      "compress cannot be true when max-file is less than 2 or max-size is not set");
    assertError(() => parseJsonFileLogOptions({ compress: "1", "max-size": "1m" }),
      "compress cannot be true when max-file is less than 2 or max-size is not set");
    assertError(() => parseJsonFileLogOptions({ mode: "fast" }), "logger: logging mode not supported: fast");
    assertError(() => parseJsonFileLogOptions({ "max-buffer-size": "1m" }),
      "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    assertError(() => parseJsonFileLogOptions({ mode: "non-blocking", "max-buffer-size": "lots" }),
      "error parsing option max-buffer-size: invalid size: 'lots'");
  });

  it("checks max-size before max-file, as dockerd's New", () => {
    assertError(() => parseJsonFileLogOptions({ "max-file": "0", "max-size": "0" }), "max-size must be a positive number");
  });

  it("names an unknown key", () => {
    assertError(() => parseJsonFileLogOptions({ "max-size": "1m", "max-files": "3" }),
      "unknown log opt 'max-files' for json-file log driver");
    assertError(() => parseJsonFileLogOptions({ "syslog-address": "udp://x" }),
      "unknown log opt 'syslog-address' for json-file log driver");
  });

  it("compress=false is fine; compress=true is valid dockerd but not implemented here", () => {
    assert.equal(parseJsonFileLogOptions({ compress: "false", "max-size": "1m", "max-file": "2" }).maxFile, 2);
    assertError(() => parseJsonFileLogOptions({ compress: "true", "max-size": "1m", "max-file": "2" }),
      "json-file: compress=true is not supported by berth: rotated files stay uncompressed", "not-implemented");
  });

  it("ignores inherited properties", () => {
    const opts = Object.create({ "max-size": "1" }) as Record<string, string>;
    assert.equal(parseJsonFileLogOptions(opts).maxSize, undefined);
  });
});
