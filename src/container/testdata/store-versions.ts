/**
 * Version `seq` of the crash-test record: its number and a padding whose length and letter both
 * depend on it, from 1 byte to ~256 KiB, so any mix of two versions or any truncation shows.
 */
export function versionLabels(seq: number): Record<string, string> {
  const length = ((seq * 7919) % 262_144) + 1;
  const letter = String.fromCharCode(97 + (seq % 26));
  return { seq: String(seq), pad: letter.repeat(length), padLength: String(length) };
}
