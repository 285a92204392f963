#!/usr/bin/env bash
# Installs berth as a systemd service (docs/service.md):
#   /opt/berth                  the built daemon (dist/), package.json, production node_modules
#   /usr/local/bin/berthd       a wrapper running it with the node found at install time
#   /etc/systemd/system/berth.service, berth.socket   (contrib/systemd)
#   /etc/berth/                 where daemon.json goes (none is written: defaults apply)
#   the docker group            so that its members may use the socket (created when missing)
# Options:
#   --prefix DIR     install the daemon there instead of /opt/berth
#   --docker-sock    berth also answers on /var/run/docker.sock (refused when dockerd is installed)
#   --no-start       install only; do not enable or start the units
# DESTDIR=/some/dir stages everything below that directory and touches nothing else (packaging).
# Needs a built tree (npm run build) or builds it; run as root from a checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "install: FAILED: $*" >&2; exit 1; }
note() { echo "install: $*"; }

prefix=/opt/berth
docker_sock=0
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --docker-sock) docker_sock=1; shift ;;
    --no-start) start=0; shift ;;
    *) fail "unknown option $1 (see the comment at the top of $0)" ;;
  esac
done
dest="${DESTDIR:-}"
[ -n "$dest" ] || [ "$(id -u)" = 0 ] || fail "run as root (or set DESTDIR to stage the files)"
node_bin="$(command -v node)" || fail "node is not installed (Node.js 20 or later)"
[ "$("$node_bin" -p 'process.versions.node.split(".")[0]')" -ge 20 ] || fail "Node.js 20 or later is required"

if [ ! -f dist/cli/berthd.js ] || [ -n "$(find src -name '*.ts' -newer dist/cli/berthd.js -print -quit)" ]; then
  note "building (npm run build)"
  npm run build >/tmp/berth-install-build.log 2>&1 || { tail -20 /tmp/berth-install-build.log >&2; fail "npm run build failed"; }
fi

note "copying the daemon to $dest$prefix"
install -d "$dest$prefix"
rm -rf "$dest$prefix/dist"
cp -a dist package.json package-lock.json "$dest$prefix/"
[ -f LICENSE ] && cp LICENSE "$dest$prefix/"
cp -a docs "$dest$prefix/" 2>/dev/null || true
# Production dependencies only, from the lock file (no download when the npm cache has them).
(cd "$dest$prefix" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts >/tmp/berth-install-npm.log 2>&1) || {
  tail -20 /tmp/berth-install-npm.log >&2; fail "npm ci --omit=dev in $dest$prefix failed"; }

install -d "$dest/usr/local/bin" "$dest/etc/systemd/system" "$dest/etc/berth"
cat >"$dest/usr/local/bin/berthd" <<WRAPPER
#!/bin/sh
exec "$node_bin" "$prefix/dist/cli/berthd.js" "\$@"
WRAPPER
chmod 0755 "$dest/usr/local/bin/berthd"
install -m 0644 contrib/systemd/berth.service contrib/systemd/berth.socket "$dest/etc/systemd/system/"
sed -i "s#/opt/berth/docs#$prefix/docs#" "$dest/etc/systemd/system/berth.service"

if [ "$docker_sock" = 1 ]; then
  if command -v dockerd >/dev/null || [ -e /lib/systemd/system/docker.socket ] || [ -e /etc/systemd/system/docker.socket ]; then
    fail "--docker-sock: dockerd is installed here and owns /var/run/docker.sock; use a docker context for berth instead"
  fi
  install -d "$dest/etc/systemd/system/berth.socket.d"
  install -m 0644 contrib/systemd/docker-sock.conf "$dest/etc/systemd/system/berth.socket.d/"
fi

if [ -n "$dest" ]; then note "staged below $dest; nothing started"; exit 0; fi

getent group docker >/dev/null || { note "creating the docker group"; groupadd --system docker; }
if [ "$start" = 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now berth.socket berth.service
  note "started: systemctl status berth; docker context create berth --docker host=unix:///run/berth/berth.sock"
else
  note "installed; start with: systemctl daemon-reload && systemctl enable --now berth.socket berth.service"
  [ -d /run/systemd/system ] || note "(systemd is not running here: the units were only copied)"
fi
