// A container's filesystem as a whole: GET /containers/{id}/changes (docker diff), GET
// /containers/{id}/export, and POST /commit (which dockerd serves beside /containers too).
import type { Readable } from "node:stream";
import { errInvalidArgument, errNotFound } from "../base/errors.js";
import type { ContainerView } from "../daemon/types.js";
import { configJson } from "./container-json.js";
import type { RequestContext, RouteDef } from "./context.js";
import { boolValueOr, sendJson, sendTar } from "./http-io.js";

import type { CommitOptions as ContainerCommitOptions } from "../daemon/types.js";
export type { ContainerCommitOptions };

/** What these routes need from the engine. */
export interface ContainerFsBackend {
  inspect(ref: string): ContainerView;
  changes(ref: string): Promise<{ path: string; kind: 0 | 1 | 2 }[]>;
  exportContainer(ref: string, o?: { signal?: AbortSignal }): Promise<Readable>;
  commit(ref: string, o: ContainerCommitOptions): Promise<{ id: string }>;
}

// Docker's reference grammar, as far as commit needs it: a lowercase repository path (optionally
// with a registry host) and a tag.
const REPO = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** dockerd's RepoTagReference: no repo, no name; a repo without tag is `:latest`. */
export function commitReference(repo: string, tag: string): string | undefined {
  if (repo === "") return undefined;
  if (!REPO.test(repo)) throw errInvalidArgument("invalid reference format");
  if (tag !== "" && !TAG.test(tag)) throw errInvalidArgument("invalid reference format");
  return `${repo}:${tag || "latest"}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The `changes` parameters as dockerd reads them: joined with newlines and parsed as Dockerfile
 * lines, so one parameter may hold several instructions (testcontainers sends them that way),
 * with `\` line continuations, blank lines and `#` comments.
 */
export function commitChanges(values: readonly string[]): string[] {
  const out: string[] = [];
  let pending = "";
  for (const raw of values.join("\n").split("\n")) {
    const line = pending === "" ? raw.trim() : raw;
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1);
      continue;
    }
    out.push((pending + line).trim());
    pending = "";
  }
  if (pending.trim() !== "") out.push(pending.trim());
  return out;
}

async function commit(b: ContainerFsBackend, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const container = q.get("container") ?? "";
  const body = await ctx.readJson();
  if (body !== undefined && body !== null && !isObject(body)) throw errInvalidArgument("the commit body must be a container config object");
  const reference = commitReference(q.get("repo") ?? "", q.get("tag") ?? "");
  if (container === "") throw errNotFound("No such container: ");
  const view = b.inspect(container);
  const { id } = await b.commit(container, {
    containerConfig: configJson(view),
    ...(isObject(body) ? { config: body } : {}),
    changes: commitChanges(q.getAll("changes")),
    author: q.get("author") ?? "",
    comment: q.get("comment") ?? "",
    ...(reference ? { reference } : {}),
    pause: boolValueOr(q, "pause", true),
  });
  sendJson(ctx.res, 201, { Id: id });
}

async function exportContainer(b: ContainerFsBackend, ctx: RequestContext): Promise<void> {
  await sendTar(ctx, await b.exportContainer(ctx.params.id!, { signal: ctx.signal }), "export");
}

export function containerFsRoutes(b: ContainerFsBackend): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/containers/:id/changes",
      handler: async (ctx) => {
        const changes = await b.changes(ctx.params.id!);
        // dockerd answers null, not [], for a container without changes.
        sendJson(ctx.res, 200, changes.length === 0 ? null : changes.map((c) => ({ Path: c.path, Kind: c.kind })));
      },
    },
    { method: "GET", path: "/containers/:id/export", handler: (ctx) => exportContainer(b, ctx) },
    { method: "POST", path: "/commit", handler: (ctx) => commit(b, ctx) },
  ];
}
