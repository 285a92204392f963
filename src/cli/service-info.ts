// The /info fields that come from berthd's configuration (labels, debug, registries) and its
// environment (proxies), read at each request so that a reload shows at once.
import { parseInsecureRegistries } from "../images/index.js";
import type { LiveSettings } from "./daemon-config.js";

export function serviceInfoFields(live: LiveSettings, env: NodeJS.ProcessEnv = process.env) {
  const insecure = ["127.0.0.0/8", ...live.insecureRegistries];
  const cidrs = insecure.filter((e) => /\/\d+$/.test(e));
  // Checked when configured; here only split into CIDRs and named hosts, as dockerd shows them.
  parseInsecureRegistries(insecure);
  return {
    labels: [...live.labels],
    debug: live.debug,
    registry: { insecureCidrs: [...new Set(cidrs)], insecureHosts: insecure.filter((e) => !/\/\d+$/.test(e)), mirrors: [...live.registryMirrors] },
    proxies: {
      http: maskCredentials(env.HTTP_PROXY ?? env.http_proxy ?? ""),
      https: maskCredentials(env.HTTPS_PROXY ?? env.https_proxy ?? ""),
      no: env.NO_PROXY ?? env.no_proxy ?? "",
    },
  };
}

/** A proxy URL's user and password are not for /info readers (dockerd masks them too). */
export function maskCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]+@/i, "$1xxxxx:xxxxx@");
}
