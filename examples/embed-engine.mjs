// Embed berth in a Node process: a private containerd, the engine over it, and the Docker Engine
// API served on a unix socket of this process (what berthd assembles, minus networking). The
// program watches the engine's events while a client drives it through the API; any Docker
// client (docker CLI, dockerode) could use the same socket. As root, after `npm run build`:
//   node examples/embed-engine.mjs
// CONTAINERD_ADDRESS, CONTAINERD_STATE and CONTAINERD_NAMESPACE use an existing containerd instead.
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import {
  buildBusyboxImage, createApiServer, createContainerdClient, createEngine, createImageService, createImageSource,
  createVolumeStore, daemonIdOf, EventBus, jsonFileLogs, networkBackend, predefinedOnlyNetworks, startContainerdProcess,
  systemBackend,
} from "@berth-engine/berth";

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-embed-"));
const root = path.join(dir, "root");
const external = process.env.CONTAINERD_ADDRESS;
const containerdProc = external ? undefined : await startContainerdProcess({ dir: path.join(dir, "containerd") });
const containerd = createContainerdClient({ address: external ?? containerdProc.address, namespace: process.env.CONTAINERD_NAMESPACE ?? "embed" });
const cleanup = [() => containerd.close(), async () => containerdProc?.stop()];
try {
  // The pieces berthd wires together: one event bus, images in containerd, local volumes.
  const events = new EventBus();
  let engine;
  const images = createImageService({ containerd, isUsed: (id) => engine.list({ all: true }).some((c) => c.imageId === id) });
  const volumes = await createVolumeStore({ root });
  engine = await createEngine({
    root, containerd, images: createImageSource(images), logs: jsonFileLogs(), volumes, events,
    containerdStateDir: process.env.CONTAINERD_STATE ?? containerdProc.state,
  });
  cleanup.unshift(() => engine.close());
  await images.load(Readable.from([await buildBusyboxImage()]));

  // Attach to the engine's events: every container, image, volume and network event, live.
  // Here: the container events, until the container is destroyed (or 10 s pass).
  const watching = AbortSignal.timeout(10_000);
  const seen = (async () => {
    const out = [];
    for await (const e of engine.events({ signal: watching })) {
      if (e.type !== "container") continue;
      out.push(e.action);
      console.log(`event: container ${e.action} ${e.attributes.name ?? ""}`);
      if (e.action === "destroy") break;
    }
    return out;
  })();

  const daemonId = await daemonIdOf(root);
  const api = createApiServer({
    backends: {
      containers: engine, exec: engine, images, volumes,
      system: systemBackend({ version: "embedded", root, daemonId, containerd: await containerd.version.version(), engine, images, volumes, securityOptions: [] }),
      networks: networkBackend({ manager: predefinedOnlyNetworks(daemonId), engine, inUse: () => false, events }),
    },
  });
  cleanup.unshift(() => api.close());
  const socketPath = path.join(dir, "docker.sock");
  await api.listen({ socketPath });
  console.log(`serving the Docker API on unix://${socketPath}`);

  // A client of that socket: what `docker run --rm --network none busybox echo ...` sends.
  const created = await call(socketPath, "POST", "/containers/create?name=embedded", {
    Image: "busybox", Cmd: ["echo", "hello from an embedded berth"], HostConfig: { NetworkMode: "none" },
  });
  await call(socketPath, "POST", `/containers/${created.Id}/start`);
  const waited = await call(socketPath, "POST", `/containers/${created.Id}/wait`);
  const logs = await call(socketPath, "GET", `/containers/${created.Id}/logs?stdout=1`, undefined, true);
  console.log(`exit code ${waited.StatusCode}; output: ${stripStdcopy(logs).trim()}`);
  await call(socketPath, "DELETE", `/containers/${created.Id}`);

  console.log(`container events: ${(await seen).join(" ")}`);
} finally {
  for (const c of cleanup) await c().catch((e) => console.error(e));
  await fs.rm(dir, { recursive: true, force: true });
}

function call(socketPath, method, p, body, raw = false) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ socketPath, method, path: `/v1.43${p}`, headers: data ? { "Content-Type": "application/json", "Content-Length": data.length } : {} }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const buf = Buffer.concat(chunks);
        if (res.statusCode >= 400) return reject(new Error(`${method} ${p}: ${res.statusCode} ${buf}`));
        resolve(raw ? buf : buf.length ? JSON.parse(buf.toString()) : undefined);
      });
    });
    req.on("error", reject);
    req.end(data);
  });
}

/** The logs of a container without a TTY come in Docker's stream framing: 8-byte headers. */
function stripStdcopy(buf) {
  let out = "";
  for (let i = 0; i + 8 <= buf.length;) {
    const n = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + n).toString();
    i += 8 + n;
  }
  return out;
}
