// What the daemon and the volumes layer both read from an overlay mount's options (its layer
// directories) and need to mount one again: the page limit of mount(2)'s option data and the
// common directory that relative paths are taken from when the options would not fit.

/** mount(2) takes one page of option data; longer overlay options go relative (as containerd). */
export const MAX_MOUNT_DATA = 4095;

/** The value of `key=value` among mount options. */
export function mountOptionValue(options: readonly string[], key: string): string | undefined {
  const hit = options.find((o) => o.startsWith(key + "="));
  return hit === undefined ? undefined : hit.slice(key.length + 1);
}

/** The directories of an overlay mount: its upperdir (when read-write) and lowerdirs, top first. */
export function overlayDirs(m: { options: readonly string[] }): { upper: string | undefined; lowers: string[] } {
  return {
    upper: mountOptionValue(m.options, "upperdir"),
    lowers: (mountOptionValue(m.options, "lowerdir") ?? "").split(":").filter(Boolean),
  };
}

/** The longest common directory of absolute paths. */
export function commonDir(paths: readonly string[]): string {
  let parts = (paths[0] ?? "/").split("/");
  for (const p of paths.slice(1)) {
    const q = p.split("/");
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join("/") || "/";
}
