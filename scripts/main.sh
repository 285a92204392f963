#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine, as root: install what is missing, start berthd
# (with its embedded containerd) unless one already serves the socket, load the busybox image
# made from the host's busybox-static, and run a container with the docker CLI:
#   DOCKER_HOST=unix:///run/berth/berth.sock docker run --rm busybox echo hello from berth
# berthd is stopped again (by PID) if this script started it. Set BERTH_KEEP=1 to leave it running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

fail() { echo "main: FAILED: $*" >&2; exit 1; }
SOCK=${BERTH_SOCKET:-/run/berth/berth.sock}
ROOT=${BERTH_ROOT:-/var/lib/berth}
LOG=${BERTH_LOG:-/tmp/berthd.log}
export DOCKER_HOST="unix://$SOCK"

if ! command -v docker >/dev/null; then
  fail "the docker CLI is not installed (it is the client berth serves); install one, e.g. Debian's docker.io package, without starting its dockerd"
fi

started=""
if ! docker version >/dev/null 2>&1; then
  echo "main: starting berthd (root $ROOT, socket $SOCK, log $LOG)"
  npm run --silent build >/dev/null 2>&1 || fail "npm run build failed"
  node dist/cli/berthd.js --root "$ROOT" -H "unix://$SOCK" >"$LOG" 2>&1 &
  started=$!
  cleanup() {
    if [ -n "$started" ] && [ -z "${BERTH_KEEP:-}" ]; then
      kill -TERM "$started" 2>/dev/null || true
      wait "$started" 2>/dev/null || true
    fi
  }
  trap cleanup EXIT
  for _ in $(seq 150); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$started" 2>/dev/null || { tail -20 "$LOG" >&2; fail "berthd exited during start-up (log: $LOG)"; }
    sleep 0.2
  done
  docker version >/dev/null 2>&1 || { tail -20 "$LOG" >&2; fail "berthd did not answer on $SOCK within 30 s (log: $LOG)"; }
fi

if ! docker image inspect busybox:latest >/dev/null 2>&1; then
  echo "main: loading the busybox image (built from /bin/busybox)"
  npx --no-install tsx scripts/busybox-image.ts | docker load || fail "loading the busybox image failed"
fi

echo "main: DOCKER_HOST=$DOCKER_HOST docker run --rm busybox echo hello from berth"
docker run --rm busybox echo hello from berth || fail "the container did not run (berthd log: $LOG)"
