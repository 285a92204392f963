const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * A duration in milliseconds the way `docker ps` words it (go-units v0.4.0 `HumanDuration`):
 * seconds and minutes are truncated, hours are rounded to the nearest hour and every coarser unit
 * is derived from the rounded hours.
 *
 * One deliberate difference: go-units computes years from the *truncated* hours while the branch
 * is chosen on the *rounded* hours, so a duration in [N·8760 h − 30 min, N·8760 h) prints one year
 * too few — "1 years" just under two years. Here years use the rounded hours like every other
 * branch, so the years branch starts at "2 years" and never says "1 years".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND_MS);
  // `!(x >= 1)` also catches NaN; negative durations (clock skew) read as "less than a second",
  // as in Go.
  if (!(seconds >= 1)) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / MINUTE_MS);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / HOUR_MS + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(hours / 24 / 365)} years`;
}
