// The names under which a container asks for the default bridge network: docker's
// NetworkMode "default" (what the CLI sends), "bridge", and "" (an API client that sent none).

const DEFAULT_NETWORK_MODES: ReadonlySet<string> = new Set(["default", "bridge", ""]);

/** The network the default names stand for. */
export const DEFAULT_NETWORK = "bridge";

export function isDefaultNetwork(mode: string): boolean {
  return DEFAULT_NETWORK_MODES.has(mode);
}

/** A network mode or endpoint key with the default names resolved to "bridge". */
export function defaultNetworkName(mode: string): string {
  return isDefaultNetwork(mode) ? DEFAULT_NETWORK : mode;
}
