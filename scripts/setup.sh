#!/usr/bin/env bash
# Installs what berth needs on a Debian/Ubuntu machine, only what is missing:
#   apt: containerd, runc, busybox-static (the test image is made from it), criu (checkpoints)
#   npm: the project's dependencies (npm ci)
# Run as root (or through sudo). Says clearly what failed.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup: FAILED: $*" >&2; exit 1; }
note() { echo "setup: $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (sudo bash scripts/setup.sh): containerd and runc need it"
command -v node >/dev/null || fail "node is not installed (Node.js 20 or later is required)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js $(node --version) is too old; berth needs 20 or later"

need=()
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
# The image fixture needs a static busybox: a dynamic one would not run in a bare rootfs.
if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; then need+=(busybox-static); fi
command -v criu >/dev/null || need+=(criu)
# The image pull tests push to and pull from a private registry on 127.0.0.1.
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v umount >/dev/null || need+=(mount)
# Networking: the standard CNI plugins (bridge, host-local, portmap, firewall, loopback) and iptables.
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
# The socket activation test: systemd-socket-activate stands in for systemd (installing the
# package starts nothing where systemd is not PID 1).
[ -x /usr/bin/systemd-socket-activate ] || need+=(systemd)
# The sd_notify test binds its NOTIFY_SOCKET with python3; the TLS registry test makes a CA with openssl.
command -v python3 >/dev/null || need+=(python3)
command -v openssl >/dev/null || need+=(openssl)
# docker run --init: a static tini bound into the container as /sbin/docker-init, as dockerd binds docker-init.
[ -x /usr/bin/tini-static ] || need+=(tini)

if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || fail "missing ${need[*]} and no apt-get to install them"
  note "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/tmp/berth-apt-update.log 2>&1 || { tail -20 /tmp/berth-apt-update.log >&2; fail "apt-get update failed (log: /tmp/berth-apt-update.log)"; }
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/tmp/berth-apt-install.log 2>&1 || {
    tail -20 /tmp/berth-apt-install.log >&2; fail "apt-get install ${need[*]} failed (log: /tmp/berth-apt-install.log)"; }
fi
for bin in containerd runc; do command -v $bin >/dev/null || fail "$bin is still missing after installing"; done
[ -x /bin/busybox ] || fail "/bin/busybox is still missing after installing busybox-static"

# npm ci when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  note "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >/tmp/berth-npm-ci.log 2>&1 || { tail -30 /tmp/berth-npm-ci.log >&2; fail "npm ci failed (log: /tmp/berth-npm-ci.log)"; }
fi
note "ready: containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1{print $3}'), node $(node --version)"
