// Shared shims (`--shim-group-size N`): which containers share one containerd-shim-runc-v2.
// containerd 1.6's runc v2 shim reads the OCI spec annotation `io.containerd.runc.v2.group` when
// it is started for a task: tasks whose spec names the same group are served by one shim process
// (its socket address is derived from the group instead of the container ID), which exits when
// its last task is deleted. This module only decides the groups; it is pure (no I/O).
import { randomBytes } from "node:crypto";
import type { SpecOpt } from "./oci/index.js";

/** The annotation the runc v2 shim groups by (and the containerd label berth mirrors it in). */
export const SHIM_GROUP_KEY = "io.containerd.runc.v2.group";

/**
 * Group membership by container: a container takes a slot when it is created and frees it when
 * it is removed (stopped containers keep theirs, so that a restart runs in the same shim). A new
 * container joins the fullest group that still has a free slot, so groups fill up to `size`
 * before the next one opens.
 */
export class ShimGroups {
  readonly #size: number;
  readonly #newGroupId: () => string;
  /** Members by group, in the order the groups were first seen. */
  readonly #members = new Map<string, Set<string>>();
  readonly #groupOf = new Map<string, string>();

  constructor(size: number, newGroupId: () => string = () => `berth-${randomBytes(8).toString("hex")}`) {
    if (!Number.isInteger(size) || size < 2) throw new RangeError(`a shim group holds at least 2 containers, got ${size}`);
    this.#size = size;
    this.#newGroupId = newGroupId;
  }

  get size(): number {
    return this.#size;
  }

  /** The group a new container joins (its slot is taken now). */
  assign(containerId: string): string {
    const had = this.#groupOf.get(containerId);
    if (had !== undefined) return had;
    let best: string | undefined;
    let bestCount = 0;
    for (const [g, m] of this.#members) {
      if (m.size < this.#size && m.size > bestCount) {
        best = g;
        bestCount = m.size;
      }
    }
    const group = best ?? this.#newGroupId();
    this.adopt(containerId, group);
    return group;
  }

  /** A container that is in `group` already (restore reads it from the record). */
  adopt(containerId: string, group: string): void {
    this.release(containerId);
    let m = this.#members.get(group);
    if (!m) this.#members.set(group, (m = new Set()));
    m.add(containerId);
    this.#groupOf.set(containerId, group);
  }

  /** Frees the container's slot (rm, or a create that failed). */
  release(containerId: string): void {
    const g = this.#groupOf.get(containerId);
    if (g === undefined) return;
    this.#groupOf.delete(containerId);
    const m = this.#members.get(g);
    m?.delete(containerId);
    if (m && m.size === 0) this.#members.delete(g);
  }

  groupOf(containerId: string): string | undefined {
    return this.#groupOf.get(containerId);
  }

  /** Group → member count (tests, docs). */
  counts(): Map<string, number> {
    return new Map([...this.#members].map(([g, m]) => [g, m.size]));
  }
}

/** The allocator for a daemon's `--shim-group-size`: none at 1 (one shim per container, no annotation). */
export function shimGroupsFor(size: number | undefined): ShimGroups | undefined {
  return size !== undefined && size > 1 ? new ShimGroups(size) : undefined;
}

/** The spec annotation the shim reads when it starts (containerd passes no labels to the shim). */
export function withShimGroup(group: string): SpecOpt {
  return (spec) => {
    spec.annotations = { ...spec.annotations, [SHIM_GROUP_KEY]: group };
  };
}
