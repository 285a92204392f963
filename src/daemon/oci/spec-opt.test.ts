import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type {  } from "../../containerd/oci/spec-types.js";
import { applySpecOpts, buildSpec } from "./spec-opt.js";
import { withArgs, withCwd, withEnv, withHostname } from "./process.js";
import { withUser } from "./user.js";
import { withCapabilities } from "./capabilities.js";
import { withSecurityOpts } from "./security.js";
import { withMemoryLimit, withPidsLimit } from "./resources.js";
import { withCgroupsPath, withReadonlyRootfs } from "./rootfs.js";
import { withHostsAndResolvConf, withMounts, withTmpfs } from "./mounts.js";
import { withNetworkMode } from "./namespaces.js";
import { defaultSpec } from "./default-spec.js";
import { PATH, DEFAULT_MOUNT_DESTINATIONS, build, env, mountsOf, mountAt } from "./testdata/spec-assert.js";

describe("buildSpec / applySpecOpts", () => {
  it("with no options is the default spec", () => {
    assert.deepEqual(buildSpec([]), defaultSpec());
  });

  it("applies options in order", () => {
    const s = build(withCwd("/a"), withCwd("/b"));
    assert.equal(s.process?.cwd, "/b");
  });

  it("applySpecOpts mutates and returns the given spec", () => {
    const spec = defaultSpec();
    assert.equal(applySpecOpts(spec, [withHostname("h")]), spec);
    assert.equal(spec.hostname, "h");
  });

  it("creates process/linux when a spec lacks them", () => {
    const s = applySpecOpts({ ociVersion: "1.0.2" }, [withArgs(["sh"]), withPidsLimit(5)]);
    assert.deepEqual(s.process, { user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh"] });
    assert.deepEqual(s.linux, { resources: { pids: { limit: 5 } } });
  });
});

describe("a docker run, composed", () => {
  it("docker run --user 1000 --cap-drop ALL --cap-add NET_BIND_SERVICE --read-only --tmpfs /tmp -v /srv:/srv:ro", () => {
    const s = build(
      withArgs(["nginx", "-g", "daemon off;"]),
      withEnv(["PATH=/usr/local/nginx/bin:/usr/bin:/bin", "NGINX_VERSION=1.25"]),
      withCwd("/srv"),
      withHostname("0123456789ab"),
      withUser({ uid: 1000, gid: 1000, additionalGids: [1000] }),
      withCapabilities({ add: ["NET_BIND_SERVICE"], drop: ["ALL"] }),
      withReadonlyRootfs(),
      withTmpfs({ "/tmp": "" }),
      withMounts([{ destination: "/srv", type: "bind", source: "/srv", options: ["rbind", "ro", "rprivate"] }]),
      withHostsAndResolvConf({ hosts: "/c/hosts", resolvConf: "/c/resolv.conf", hostname: "/c/hostname" }),
      withNetworkMode("bridge", { netnsPath: "/var/run/netns/x" }),
      withCgroupsPath("/berth/0123456789ab"),
      withSecurityOpts(["no-new-privileges"]),
      withMemoryLimit(64 * 1024 * 1024),
      withPidsLimit(64),
    );
    assert.deepEqual(s.process, {
      user: { uid: 1000, gid: 1000, additionalGids: [1000] },
      env: ["PATH=/usr/local/nginx/bin:/usr/bin:/bin", "NGINX_VERSION=1.25", "HOSTNAME=0123456789ab"],
      cwd: "/srv",
      capabilities: { bounding: ["CAP_NET_BIND_SERVICE"] },
      args: ["nginx", "-g", "daemon off;"],
      noNewPrivileges: true,
    });
    assert.deepEqual(s.root, { path: "rootfs", readonly: true });
    assert.deepEqual(mountsOf(s), [...DEFAULT_MOUNT_DESTINATIONS, "/tmp", "/srv", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]);
    assert.deepEqual(mountAt(s, "/etc/hosts")?.options, ["rbind", "ro", "rprivate"]);
    assert.deepEqual(s.linux?.resources, {
      devices: defaultSpec().linux?.resources?.devices,
      memory: { limit: 67108864, swap: 134217728 },
      pids: { limit: 64 },
    });
    assert.equal(s.linux?.cgroupsPath, "/berth/0123456789ab");
    // The spec is plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
});
