import assert from "node:assert/strict";
import { test } from "node:test";
import { isBerthError } from "../base/errors.js";
import { isZeroValue, parseCreateBody, parseUpdateBody } from "./create-body.js";

// What docker CLI 28 sends at API 1.43 for `docker create --network none busybox sleep 1000`.
const CLI_MINIMAL = {
  Hostname: "", Domainname: "", User: "", AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false,
  OpenStdin: false, StdinOnce: false, Env: null, Cmd: ["sleep", "1000"], Image: "busybox", Volumes: {}, WorkingDir: "",
  Entrypoint: null, OnBuild: null, Labels: {},
  HostConfig: {
    Binds: null, ContainerIDFile: "", LogConfig: { Type: "", Config: {} }, NetworkMode: "none", PortBindings: {},
    RestartPolicy: { Name: "no", MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: "", VolumesFrom: null,
    ConsoleSize: [0, 0], CapAdd: null, CapDrop: null, CgroupnsMode: "", Dns: [], DnsOptions: [], DnsSearch: [],
    ExtraHosts: null, GroupAdd: null, IpcMode: "", Cgroup: "", Links: null, OomScoreAdj: 0, PidMode: "", Privileged: false,
    PublishAllPorts: false, ReadonlyRootfs: false, SecurityOpt: null, UTSMode: "", UsernsMode: "", ShmSize: 0, Isolation: "",
    CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: "", BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [], BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [], CpuPeriod: 0, CpuQuota: 0,
    CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: "", CpusetMems: "", Devices: [], DeviceCgroupRules: null,
    DeviceRequests: null, MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: -1, OomKillDisable: false, PidsLimit: 0,
    Ulimits: [], CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0, MaskedPaths: null, ReadonlyPaths: null,
  },
  NetworkingConfig: { EndpointsConfig: {} },
};

// `docker run -d --rm -it --memory 64m --cpus 1.5 --pids-limit 100 --read-only --tmpfs /tmp:size=1m
//  --cap-add NET_ADMIN --cap-drop ALL --security-opt no-new-privileges --init -v /a:/b:ro -e A=1 -l x=y
//  --name foo -w /w -u 1000 --entrypoint sh busybox -c true` (CLI 28, API 1.43).
const CLI_FULL = structuredClone(CLI_MINIMAL) as Record<string, any>;
Object.assign(CLI_FULL, {
  User: "1000", AttachStdout: false, AttachStderr: false, Tty: true, OpenStdin: true, Env: ["A=1"], Cmd: ["-c", "true"],
  WorkingDir: "/w", Entrypoint: ["sh"], Labels: { x: "y" },
  NetworkingConfig: {
    EndpointsConfig: {
      default: {
        IPAMConfig: null, Links: null, Aliases: null, MacAddress: "", DriverOpts: null, GwPriority: 0, NetworkID: "",
        EndpointID: "", Gateway: "", IPAddress: "", IPPrefixLen: 0, IPv6Gateway: "", GlobalIPv6Address: "",
        GlobalIPv6PrefixLen: 0, DNSNames: null,
      },
    },
  },
});
Object.assign(CLI_FULL.HostConfig, {
  Binds: ["/a:/b:ro"], NetworkMode: "default", AutoRemove: true, CapAdd: ["CAP_NET_ADMIN"], CapDrop: ["ALL"],
  ReadonlyRootfs: true, SecurityOpt: ["no-new-privileges"], Tmpfs: { "/tmp": "size=1m" }, Memory: 67108864,
  NanoCpus: 1500000000, PidsLimit: 100, Init: true,
});

function rejects(body: unknown, pattern: RegExp, version = "1.43") {
  assert.throws(() => parseCreateBody(body, version), (e: unknown) => isBerthError(e, "invalid-argument") && pattern.test(e.message));
}

test("the docker CLI's full body with only defaults passes", () => {
  const { config, hostConfig } = parseCreateBody(CLI_MINIMAL, "1.43");
  assert.deepEqual(config, {
    image: "busybox", hostname: "", domainname: "", user: "", attachStdin: false, attachStdout: true, attachStderr: true,
    tty: false, openStdin: false, stdinOnce: false, cmd: ["sleep", "1000"], volumes: [], workingDir: "", labels: {},
  });
  assert.deepEqual(hostConfig, { restartPolicy: { name: "no", maximumRetryCount: 0 }, autoRemove: false, readonlyRootfs: false, networkMode: "none" });
});

test("every supported option the CLI can send is translated", () => {
  const { config, hostConfig } = parseCreateBody(CLI_FULL, "1.43");
  assert.equal(config.user, "1000");
  assert.equal(config.tty, true);
  assert.equal(config.openStdin, true);
  assert.deepEqual(config.env, ["A=1"]);
  assert.deepEqual(config.entrypoint, ["sh"]);
  assert.deepEqual(config.cmd, ["-c", "true"]);
  assert.deepEqual(config.labels, { x: "y" });
  assert.equal(config.workingDir, "/w");
  assert.deepEqual(hostConfig.binds, ["/a:/b:ro"]);
  assert.equal(hostConfig.autoRemove, true);
  assert.deepEqual(hostConfig.capAdd, ["CAP_NET_ADMIN"]);
  assert.deepEqual(hostConfig.capDrop, ["ALL"]);
  assert.equal(hostConfig.readonlyRootfs, true);
  assert.deepEqual(hostConfig.securityOpt, ["no-new-privileges"]);
  assert.deepEqual(hostConfig.tmpfs, { "/tmp": "size=1m" });
  assert.deepEqual(hostConfig.resources, { memory: 67108864, nanoCpus: 1500000000, pidsLimit: 100 });
  assert.equal(hostConfig.init, true);
  assert.equal(hostConfig.networkMode, "default");
});

test("a sparse body (dockerode, testcontainers) passes", () => {
  const { config, hostConfig } = parseCreateBody({ Image: "redis:7", Cmd: "redis-server", Labels: { "org.testcontainers": "true" }, HostConfig: { AutoRemove: true } }, "1.43");
  assert.deepEqual(config, { image: "redis:7", cmd: ["redis-server"], labels: { "org.testcontainers": "true" } });
  assert.deepEqual(hostConfig, { autoRemove: true });
  assert.deepEqual(parseCreateBody({ Image: "x" }, "1.43"), { config: { image: "x" }, hostConfig: {} });
});

test("Docker API fields berth does not implement are refused, all of them named at once", () => {
  const body = structuredClone(CLI_MINIMAL) as Record<string, any>;
  body.HostConfig.StorageOpt = { size: "1G" };
  body.HostConfig.CpusetMems = "0";
  body.HostConfig.Runtime = "runsc";
  assert.throws(
    () => parseCreateBody(body, "1.43"),
    (e: unknown) =>
      isBerthError(e, "invalid-argument") &&
      e.message.startsWith("unsupported container options: ") &&
      e.message.includes('HostConfig.StorageOpt={"size":"1G"}') &&
      e.message.includes('HostConfig.CpusetMems="0"') &&
      e.message.includes('HostConfig.Runtime="runsc"'),
  );
  for (const [field, value] of [
    ["StorageOpt", { size: "1G" }], ["DeviceRequests", [{ Count: -1 }]], ["CpusetMems", "0"],
    ["BlkioDeviceReadBps", [{ Path: "/dev/sda", Rate: 1 }]], ["CpuCount", 1], ["Cgroup", "x"], ["Annotations", { a: "b" }],
  ] as const) {
    rejects({ Image: "x", HostConfig: { [field]: value } }, new RegExp(`HostConfig\\.${field}=`));
  }
});

test("keys that are not part of Docker's API are ignored, as dockerd ignores them", () => {
  // dockerode sends the name in the body as well as in the query.
  const { config, hostConfig } = parseCreateBody({ Image: "x", name: "web", Whatever: [1], HostConfig: { NotDockers: true, Memory: 0 } }, "1.43");
  assert.deepEqual(config, { image: "x" });
  assert.deepEqual(hostConfig, {});
  assert.deepEqual(parseUpdateBody({ Memory: 0, name: "x" }, "1.43"), {});
});

test("the spec options: privileges, devices, limits, namespaces, sysctls, cgroup tuning", () => {
  const { hostConfig } = parseCreateBody(
    {
      Image: "x",
      HostConfig: {
        Privileged: true,
        Devices: [{ PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rw" }, { PathOnHost: "/dev/zero" }],
        DeviceCgroupRules: ["c 1:3 mr"],
        Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }],
        ShmSize: 1 << 27,
        Sysctls: { "kernel.shmmax": "1000000" },
        PidMode: "host", IpcMode: "host", UTSMode: "host",
        GroupAdd: ["audio", "1234"],
        OomScoreAdj: 500,
        OomKillDisable: true,
        MemoryReservation: 1 << 25,
        MemorySwappiness: 0,
        BlkioWeight: 300,
        BlkioWeightDevice: [{ Path: "/dev/sda", Weight: 200 }],
        CpuRealtimePeriod: 1000000,
        CpuRealtimeRuntime: 950000,
        CgroupParent: "/mine",
        MaskedPaths: [],
        ReadonlyPaths: ["/proc/sys"],
        Isolation: "default",
      },
    },
    "1.43",
  );
  assert.deepEqual(hostConfig, {
    privileged: true,
    devices: [
      { pathOnHost: "/dev/null", pathInContainer: "/dev/mynull", cgroupPermissions: "rw" },
      { pathOnHost: "/dev/zero", pathInContainer: "", cgroupPermissions: "rwm" },
    ],
    deviceCgroupRules: ["c 1:3 mr"],
    ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
    shmSize: 1 << 27,
    sysctls: { "kernel.shmmax": "1000000" },
    pidMode: "host", ipcMode: "host", utsMode: "host",
    groupAdd: ["audio", "1234"],
    oomScoreAdj: 500,
    cgroupParent: "/mine",
    maskedPaths: [],
    readonlyPaths: ["/proc/sys"],
    isolation: "default",
    resources: {
      memoryReservation: 1 << 25, memorySwappiness: 0, oomKillDisable: true, blkioWeight: 300,
      blkioWeightDevice: [{ path: "/dev/sda", weight: 200 }], cpuRealtimePeriod: 1000000, cpuRealtimeRuntime: 950000,
    },
  });
  // -1 is the CLI's "unset" swappiness; the CLI's empty IPC mode is dockerd's default ("shareable" before 1.40).
  assert.deepEqual(parseCreateBody({ Image: "x", HostConfig: { MemorySwappiness: -1, IpcMode: "" } }, "1.43").hostConfig, {});
  assert.deepEqual(parseCreateBody({ Image: "x", HostConfig: { IpcMode: "" } }, "1.39").hostConfig, { ipcMode: "shareable" });
  // container:<id> modes pass to the engine, whose spec option refuses them until it can join.
  assert.equal(parseCreateBody({ Image: "x", HostConfig: { PidMode: "container:db" } }, "1.43").hostConfig.pidMode, "container:db");
  rejects({ Image: "x", HostConfig: { Isolation: "hyperv" } }, /Invalid isolation: "hyperv" - linux only supports 'default'/);
  rejects({ Image: "x", HostConfig: { Ulimits: [{ Name: "nofile", Soft: "1" }] } }, /invalid HostConfig\.Ulimits\[0\]\.Soft: expected an integer/);
  rejects({ Image: "x", HostConfig: { Devices: "/dev/null" } }, /invalid HostConfig\.Devices: expected a list of objects/);
  rejects({ Image: "x", HostConfig: { Sysctls: { a: 1 } } }, /invalid HostConfig\.Sysctls/);
});

test("values that mean the default are not refused", () => {
  parseCreateBody({ Image: "x", HostConfig: { MemorySwappiness: -1, Runtime: "runc", CgroupnsMode: "host", MaskedPaths: null } }, "1.43");
  // KernelMemory was removed in API 1.42: ignored from such clients, refused from older ones.
  parseCreateBody({ Image: "x", HostConfig: { KernelMemory: 1 << 20 } }, "1.43");
  rejects({ Image: "x", HostConfig: { KernelMemory: 1 << 20 } }, /HostConfig\.KernelMemory/, "1.41");
});

test("ports, --mount, volume driver, DNS and extra hosts are translated to the engine's vocabulary", () => {
  const { hostConfig } = parseCreateBody(
    {
      Image: "x",
      ExposedPorts: { "80/tcp": {} },
      HostConfig: {
        PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }], "53/udp": null },
        PublishAllPorts: true,
        Mounts: [
          { Type: "volume", Source: "data", Target: "/data", VolumeOptions: { NoCopy: true, Labels: { Keep: "Case" }, DriverConfig: { Name: "local", Options: { Type: "tmpfs" } } } },
          { Type: "tmpfs", Target: "/scratch", TmpfsOptions: { SizeBytes: 1048576, Mode: 1023 } },
        ],
        VolumeDriver: "local",
        Dns: ["1.1.1.1"],
        DnsSearch: ["example.org"],
        DnsOptions: ["ndots:2"],
        ExtraHosts: ["db:10.0.0.5", "gw:host-gateway"],
      },
    },
    "1.43",
  );
  assert.deepEqual(hostConfig.portBindings, { "80/tcp": [{ hostIp: "127.0.0.1", hostPort: "8080" }], "53/udp": [{ hostIp: "", hostPort: "" }] });
  assert.equal(hostConfig.publishAllPorts, true);
  assert.deepEqual(hostConfig.mounts, [
    { type: "volume", source: "data", target: "/data", volumeOptions: { noCopy: true, labels: { Keep: "Case" }, driverConfig: { name: "local", options: { Type: "tmpfs" } } } },
    { type: "tmpfs", target: "/scratch", tmpfsOptions: { sizeBytes: 1048576, mode: 1023 } },
  ]);
  assert.equal(hostConfig.volumeDriver, "local");
  assert.deepEqual(hostConfig.dns, ["1.1.1.1"]);
  assert.deepEqual(hostConfig.dnsSearch, ["example.org"]);
  assert.deepEqual(hostConfig.dnsOptions, ["ndots:2"]);
  assert.deepEqual(hostConfig.extraHosts, ["db:10.0.0.5", "gw:host-gateway"]);
  rejects({ Image: "x", HostConfig: { PortBindings: { "http/tcp": [] } } }, /port/i);
  rejects({ Image: "x", HostConfig: { Mounts: "vol" } }, /invalid HostConfig\.Mounts/);
});

test("network endpoint settings: an all-zero entry passes, real settings are refused", () => {
  parseCreateBody(CLI_FULL, "1.43");
  rejects({ Image: "x", NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ["db"] } } } }, /NetworkingConfig\.EndpointsConfig\.bridge\.Aliases=\["db"\]/);
  rejects({ Image: "x", NetworkingConfig: { EndpointsConfig: { mynet: { IPAMConfig: { IPv4Address: "10.0.0.2" } } } } }, /EndpointsConfig\.mynet\.IPAMConfig/);
});

test("network endpoint settings when the engine takes them: aliases and a fixed IPv4 address per network", () => {
  const o = { endpointSettings: true };
  assert.equal(parseCreateBody(CLI_FULL, "1.43", o).networks, undefined, "all-zero entries carry nothing");
  const { networks } = parseCreateBody(
    { Image: "x", NetworkingConfig: { EndpointsConfig: { mynet: { Aliases: ["db", "pg"], IPAMConfig: { IPv4Address: "10.0.0.2", IPv6Address: "" }, Links: null }, other: { Aliases: null } } } },
    "1.43",
    o,
  );
  assert.deepEqual(networks, { mynet: { aliases: ["db", "pg"], ipv4Address: "10.0.0.2" } });
  assert.deepEqual(parseCreateBody({ Image: "x", NetworkingConfig: { EndpointsConfig: { n: { MacAddress: "02:42:AC:11:00:02" } } } }, "1.43", o).networks, {
    n: { aliases: [], macAddress: "02:42:AC:11:00:02" },
  });
  assert.throws(
    () => parseCreateBody({ Image: "x", NetworkingConfig: { EndpointsConfig: { n: { MacAddress: "02:42:ac:11:00" } } } }, "1.43", o),
    (e: unknown) => isBerthError(e, "invalid-argument") && e.message === "invalid MAC address 02:42:ac:11:00",
  );
  assert.throws(() => parseCreateBody({ Image: "x", NetworkingConfig: { EndpointsConfig: { n: { IPAMConfig: { IPv6Address: "fd00::2" } } } } }, "1.43", o), /EndpointsConfig\.n\.IPAMConfig\.IPv6Address=/);
  assert.throws(() => parseCreateBody({ Image: "x", NetworkingConfig: { EndpointsConfig: { n: { Aliases: "db" } } } }, "1.43", o), /invalid NetworkingConfig\.EndpointsConfig\.n\.Aliases: expected a list of strings/);
});

test("entrypoint: null inherits, [\"\"] clears", () => {
  assert.equal(parseCreateBody({ Image: "x", Entrypoint: null }, "1.43").config.entrypoint, undefined);
  assert.deepEqual(parseCreateBody({ Image: "x", Entrypoint: [""] }, "1.43").config.entrypoint, []);
  assert.deepEqual(parseCreateBody({ Image: "x", Entrypoint: "/init" }, "1.43").config.entrypoint, ["/init"]);
});

test("healthcheck durations go from nanoseconds to milliseconds; StartInterval (1.44) is ignored", () => {
  const { config } = parseCreateBody(
    { Image: "x", Healthcheck: { Test: ["CMD-SHELL", "true"], Interval: 2e9, Timeout: 5e8, StartPeriod: 0, Retries: 4, StartInterval: 1e9 } },
    "1.43",
  );
  assert.deepEqual(config.healthcheck, { test: ["CMD-SHELL", "true"], interval: 2000, timeout: 500, startPeriod: 0, retries: 4 });
  rejects({ Image: "x", Healthcheck: { Test: ["CMD", "true"], Interval: 10 } }, /Interval in Healthcheck cannot be less than 1ms/);
  rejects({ Image: "x", Healthcheck: { Test: ["CMD", "true"], Retries: -1 } }, /Retries in Healthcheck cannot be negative/);
});

test("pids limit: 0 and negatives mean unlimited; AutoRemove ignored before API 1.25", () => {
  assert.equal(parseCreateBody({ Image: "x", HostConfig: { PidsLimit: -1 } }, "1.43").hostConfig.resources, undefined);
  assert.equal(parseCreateBody({ Image: "x", HostConfig: { AutoRemove: true } }, "1.24").hostConfig.autoRemove, undefined);
});

test("wrong types and bad values are 400 with the field named", () => {
  rejects(undefined, /got EOF/);
  rejects([], /expected an object/);
  rejects({ Image: 5 }, /invalid Image: expected a string/);
  rejects({ Image: "x", Env: "A=1" }, /invalid Env: expected a list of strings/);
  rejects({ Image: "x", Labels: { a: 1 } }, /invalid Labels/);
  rejects({ Image: "x", HostConfig: { Memory: "64m" } }, /invalid HostConfig\.Memory: expected an integer/);
  rejects({ Image: "x", HostConfig: { Memory: -5 } }, /HostConfig\.Memory: cannot be negative/);
  rejects({ Image: "x", HostConfig: { RestartPolicy: { Name: "sometimes" } } }, /invalid restart policy 'sometimes'/);
  rejects({ Image: "x", HostConfig: { ConsoleSize: [1] } }, /ConsoleSize/);
  rejects({ Image: "x", HostConfig: "none" }, /invalid HostConfig/);
});

test("keys named like Object.prototype members are fields outside the API: ignored at create and update, as dockerd's JSON decoding ignores them", () => {
  for (const k of ["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"]) {
    // JSON.parse makes "__proto__" an own key, as the API's body parser does.
    const body = JSON.parse(`{"Image":"x","HostConfig":{"${k}":"tcp"},"${k}":1}`) as Record<string, unknown>;
    const parsed = parseCreateBody(body, "1.43");
    assert.equal(parsed.config.image, "x");
    assert.equal(Object.getPrototypeOf(parsed.hostConfig), Object.prototype, "the prototype is untouched");
    parseUpdateBody(JSON.parse(`{"${k}":-1}`), "1.43");
    parseCreateBody(JSON.parse(`{"Image":"x","HostConfig":{"${k}":0},"${k}":null}`), "1.43");
  }
});

test("update: non-zero resources and a named restart policy; everything else must be zero", () => {
  // What `docker update --memory 64m --memory-swap 128m` sends.
  const cli = {
    CpuShares: 0, Memory: 67108864, NanoCpus: 0, CgroupParent: "", BlkioWeight: 0, BlkioWeightDevice: null,
    BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null,
    CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: "", CpusetMems: "", Devices: null,
    DeviceCgroupRules: null, DeviceRequests: null, MemoryReservation: 0, MemorySwap: 134217728, MemorySwappiness: null,
    OomKillDisable: null, PidsLimit: null, Ulimits: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0,
    IOMaximumBandwidth: 0, RestartPolicy: { Name: "", MaximumRetryCount: 0 },
  };
  assert.deepEqual(parseUpdateBody(cli, "1.43"), { resources: { memory: 67108864, memorySwap: 134217728 } });
  assert.deepEqual(parseUpdateBody({ RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 } }, "1.43"), {
    restartPolicy: { name: "on-failure", maximumRetryCount: 3 },
  });
  assert.deepEqual(parseUpdateBody({ PidsLimit: -1 }, "1.43"), { resources: { pidsLimit: 0 } });
  // Above the kernel's pids.max maximum: refused here, not by runc at start or update (a 500).
  assert.deepEqual(parseUpdateBody({ PidsLimit: 4194304 }, "1.43"), { resources: { pidsLimit: 4194304 } });
  assert.throws(() => parseUpdateBody({ PidsLimit: 2 ** 31 }, "1.43"), /invalid PidsLimit: 2147483648 is above the kernel's maximum of 4194304/);
  rejects({ Image: "x", HostConfig: { PidsLimit: 4194305 } }, /invalid HostConfig\.PidsLimit: 4194305 is above/);
  assert.throws(() => parseUpdateBody({ BlkioWeight: 300 }, "1.43"), /BlkioWeight=300/);
});

test("zero values in Go's sense", () => {
  for (const v of [null, undefined, false, 0, "", [], {}, { Type: "", Config: {} }, { a: { b: [] } }]) assert.ok(isZeroValue(v), JSON.stringify(v));
  for (const v of [true, 1, -1, "x", [0], { a: 1 }]) assert.ok(!isZeroValue(v), JSON.stringify(v));
});

test("UsernsMode: host opts out of the daemon's --userns-remap; anything else but empty is refused", () => {
  assert.deepEqual(parseCreateBody({ Image: "x", HostConfig: { UsernsMode: "host" } }, "1.43").hostConfig, { usernsMode: "host" });
  assert.deepEqual(parseCreateBody({ Image: "x", HostConfig: { UsernsMode: "" } }, "1.43").hostConfig, {});
  assert.throws(
    () => parseCreateBody({ Image: "x", HostConfig: { UsernsMode: "private" } }, "1.43"),
    (e: unknown) => isBerthError(e, "invalid-argument") && /invalid USER mode: private/.test((e as Error).message),
  );
});

test("CgroupnsMode: host and private are read, empty is the daemon's default, another value is refused", () => {
  assert.equal(parseCreateBody({ Image: "x", HostConfig: { CgroupnsMode: "private" } }, "1.43").hostConfig.cgroupnsMode, "private");
  assert.equal(parseCreateBody({ Image: "x", HostConfig: { CgroupnsMode: "host" } }, "1.43").hostConfig.cgroupnsMode, "host");
  assert.equal(parseCreateBody({ Image: "x", HostConfig: { CgroupnsMode: "" } }, "1.43").hostConfig.cgroupnsMode, undefined);
  rejects({ Image: "x", HostConfig: { CgroupnsMode: "shared" } }, /invalid cgroup namespace mode: shared/);
});

test("Config.MacAddress (docker run --mac-address) is kept as given; a bad one is dockerd's invalid MAC address", () => {
  assert.equal(parseCreateBody({ Image: "x", MacAddress: "02-42-AC-11-00-0A" }, "1.43").config.macAddress, "02-42-AC-11-00-0A");
  assert.equal(parseCreateBody({ Image: "x", MacAddress: "" }, "1.43").config.macAddress, undefined);
  for (const bad of ["02:42:ac:11:00", "zz:42:ac:11:00:0a", "02:42:ac:11:00:0a:00:01"]) {
    assert.throws(
      () => parseCreateBody({ Image: "x", MacAddress: bad }, "1.43"),
      (e: unknown) => isBerthError(e, "invalid-argument") && e.message === `invalid MAC address ${bad}`,
      bad,
    );
  }
  assert.throws(() => parseCreateBody({ Image: "x", MacAddress: 2 }, "1.43"), /invalid MacAddress: expected a string/);
});
