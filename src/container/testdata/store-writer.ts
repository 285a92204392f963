// Child process for store-crash.test.ts: saves new versions of one record as fast as it can,
// acknowledging each completed save on stdout, until the parent SIGKILLs it.
import { containerConfig, hostConfig, newContainerRecord } from "../record.js";
import { createContainerStore } from "../store.js";
import { versionLabels } from "./store-versions.js";

const [root, id, firstSeq] = process.argv.slice(2);
if (root === undefined || id === undefined || firstSeq === undefined) {
  throw new Error("usage: store-writer <root> <id> <first sequence number>");
}
const store = createContainerStore({ root });
const base = newContainerRecord({
  id,
  name: "/crash",
  config: containerConfig({ image: "busybox" }),
  hostConfig: hostConfig(),
  imageId: "sha256:" + "e".repeat(64),
  driver: "overlayfs",
  now: () => new Date(0),
});

process.stdout.write("ready\n");
for (let seq = Number(firstSeq); ; seq++) {
  await store.save({ ...base, config: { ...base.config, labels: versionLabels(seq) } });
  // Writes to a pipe are synchronous on Linux: once this returns the parent will see the ack.
  process.stdout.write(`${seq}\n`);
}
