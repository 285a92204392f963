import assert from "node:assert/strict";
import { test } from "node:test";

import { isInvalidArgument } from "../base/errors.js";
import { planMounts } from "./mount-plan.js";

const host = { exists: () => true };

test("binds, then mounts, then config volumes not covered by either or by --tmpfs", () => {
  const plan = planMounts(
    {
      binds: ["/srv:/srv:ro", "named:/data"],
      mounts: [{ type: "volume", target: "/cache", volumeOptions: { noCopy: true } }, { type: "tmpfs", target: "/scratch" }],
      tmpfs: { "/run": "size=1m" },
      // The image's VOLUME entries merged with Config.Volumes: /data, /cache and /run are taken.
      volumes: ["/var/lib/x", "/data", "/cache/", "/run", "/var/log"],
    },
    host,
  );
  assert.deepEqual(
    plan.map((m) => [m.type, m.destination, m.type === "volume" ? m.name ?? "(anon)" : m.type === "bind" ? m.source : "", "mode" in m ? m.mode : undefined]),
    [
      ["bind", "/srv", "/srv", "ro"],
      ["volume", "/data", "named", "z"],
      ["volume", "/cache", "(anon)", "z"],
      ["tmpfs", "/scratch", "", undefined],
      ["volume", "/var/lib/x", "(anon)", ""],
      ["volume", "/var/log", "(anon)", ""],
    ],
  );
  const anon = plan.find((m) => m.destination === "/var/lib/x");
  assert.deepEqual(anon, { type: "volume", name: undefined, destination: "/var/lib/x", readonly: false, mode: "", copyUp: true, driver: "", fromConfig: true });
  // --mount volume-nocopy: no copy-up.
  assert.equal((plan[2] as { copyUp: boolean }).copyUp, false);
});

test("a destination twice is dockerd's Duplicate mount point", () => {
  const dup = (req: Parameters<typeof planMounts>[0], message: string) =>
    assert.throws(() => planMounts(req, host), (e: unknown) => isInvalidArgument(e) && (e as Error).message === message);
  dup({ binds: ["/a:/x", "v:/x/"] }, "Duplicate mount point: /x");
  dup({ binds: ["/a:/run"], tmpfs: { "/run": "" } }, "Duplicate mount point: /run");
  dup({ binds: ["/a:/x"], mounts: [{ type: "volume", target: "/x/" }] }, "Duplicate mount point: /x/");
  dup({ mounts: [{ type: "tmpfs", target: "/t" }, { type: "volume", target: "/t" }] }, "Duplicate mount point: /t");
  dup({ mounts: [{ type: "tmpfs", target: "/t" }], tmpfs: { "/t": "" } }, "Duplicate mount point: /t");
});

test("config volumes: cleaned, deduplicated, relative ones rooted, '/' refused; VolumeDriver applies", () => {
  const plan = planMounts({ volumes: ["data", "/data/", "/a/../b"], volumeDriver: "local" }, host);
  assert.deepEqual(plan.map((m) => [m.destination, m.type === "volume" ? m.driver : ""]), [["/b", "local"], ["/data", "local"]]);
  assert.throws(() => planMounts({ volumes: ["/"] }, host), /destination can't be '\/'/);
});

test("errors of the parsers come through, a missing bind source included", () => {
  assert.throws(() => planMounts({ binds: ["/nope:/x"] }, { exists: () => false }), /bind source path does not exist: \/nope/);
  assert.throws(() => planMounts({ mounts: [{ type: "bind", source: "/nope", target: "/x" }] }, { exists: () => false }), /bind source path does not exist/);
  assert.throws(() => planMounts({ binds: ["v:/x:rw,ro"] }, host), /invalid mode: rw,ro/);
});
