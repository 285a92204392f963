#!/usr/bin/env bash
# npm run compat:peer — docker-py 5.0.3's own integration suite against a private berthd, compared
# with dockerd 20.10's results on the same selection (issue #19's yardstick).
#
# Builds berth, starts berthd on a temp root with its embedded containerd and `--bridge none` (the
# dockerd reference results were taken with --bridge none too), loads the busybox image, runs the
# suite, prints compare.py's report, then stops berthd and its containerd by PID and removes the
# temp root. Run as root (containerd and runc need it).
#   PEER_DIR   the peer kit (run.sh, compare.py, results-dockerd-20.10.txt, deselected.txt);
#              default ../shared/peer/docker-py relative to the repo root
#   DPY_TESTS  the extracted docker-py tests (default /var/tmp/peer/docker-py-5.0.3; run.sh reads it)
#   OUT        where the results go (default: a file in the temp dir, kept after the run)
#   BERTH_BRIDGE, BERTH_BIP  berthd's --bridge and --bip (default none, as the dockerd reference
#              run). Note: berth's `--bridge none` turns all networking off, user networks included
#              (dockerd's only drops the default bridge), so the network tests need a bridge, e.g.
#              BERTH_BRIDGE=bpeer0 BERTH_BIP=10.226.0.1/24; its device and the iptables rules that
#              name it or its subnet are removed at the end.
#   extra arguments go to run.sh (a test path and pytest options), e.g.
#     npm run compat:peer -- tests/integration/api_exec_test.py
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEER_DIR=${PEER_DIR:-$REPO/../shared/peer/docker-py}
[ -f "$PEER_DIR/run.sh" ] || { echo "compat-peer: no peer kit (run.sh) at PEER_DIR=$PEER_DIR" >&2; exit 2; }
PEER_DIR=$(cd "$PEER_DIR" && pwd)
export DPY_TESTS=${DPY_TESTS:-/var/tmp/peer/docker-py-5.0.3}
[ -d "$DPY_TESTS/tests/integration" ] || { echo "compat-peer: no docker-py suite at $DPY_TESTS (see $PEER_DIR/README.md)" >&2; exit 2; }
DOCKER=${DOCKER:-$(command -v docker || echo /usr/local/bin/docker)}
export DOCKER

cd "$REPO"
npm run --silent build >/dev/null || { echo "compat-peer: npm run build failed" >&2; exit 1; }

# Short paths: the shims' socket paths must fit in sun_path (108 bytes).
DIR=$(mktemp -d /tmp/bpeer-XXXXXX)
ROOT=$DIR/root
SOCK=$DIR/berth.sock
NS=berth-peer-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
OUT=${OUT:-$DIR/results-berth.txt}
LOG=$DIR/berthd.log
BERTHD=""
BRIDGE=${BERTH_BRIDGE:-none}
bridge_args=(--bridge "$BRIDGE")
if [ "$BRIDGE" != none ]; then
  : "${BERTH_BIP:?BERTH_BIP (e.g. 10.226.0.1/24) is needed with BERTH_BRIDGE}"
  bridge_args+=(--bip "$BERTH_BIP")
fi

cleanup() {
  set +e
  if [ -n "$BERTHD" ] && kill -0 "$BERTHD" 2>/dev/null; then
    # Remove what the suite left (containers first, so their snapshots go), then stop berthd.
    for id in $(DOCKER_HOST=unix://$SOCK "$DOCKER" ps -aq 2>/dev/null); do
      DOCKER_HOST=unix://$SOCK "$DOCKER" rm -fv "$id" >/dev/null 2>&1
    done
    kill -TERM "$BERTHD"
    for _ in $(seq 150); do kill -0 "$BERTHD" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BERTHD" 2>/dev/null
  fi
  # berthd stops its embedded containerd; if it could not, end that one (and only that one) by PID.
  local ctd; ctd=$(cat "$ROOT/containerd/containerd.pid" 2>/dev/null)
  if [ -n "$ctd" ] && [ -d "/proc/$ctd" ]; then
    kill -TERM "$ctd"; for _ in $(seq 100); do [ -d "/proc/$ctd" ] || break; sleep 0.1; done
    kill -KILL "$ctd" 2>/dev/null
  fi
  # Shims started by that containerd (their -address is its socket), by PID.
  for p in $(grep -l -a -- "$ROOT/containerd/containerd.sock" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [ "$p" = self ] && continue
    { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q containerd-shim && kill -KILL "$p"
  done
  grep " $DIR/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "/run/containerd/runc/$NS"
  if [ "$BRIDGE" != none ]; then
    ip link del "$BRIDGE" 2>/dev/null
    local prefix=${BERTH_BIP%.*}.
    for t in nat filter; do
      iptables -w -t $t -S | tac | grep -e "^-A" | grep -F -e "$BRIDGE" -e "$prefix" | while read -r rule; do
        eval "iptables -w -t $t -D ${rule#-A }" 2>/dev/null
      done
    done
  fi
  for c in /sys/fs/cgroup/*/"$NS"; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done
  case $OUT in "$DIR"/*) cp "$OUT" "/tmp/compat-peer-results-$NS.txt" && echo "compat-peer: results kept in /tmp/compat-peer-results-$NS.txt" ;; esac
  rm -rf "$DIR"
}
trap cleanup EXIT

node dist/cli/berthd.js --root "$ROOT" -H "unix://$SOCK" --containerd-namespace "$NS" "${bridge_args[@]}" -l info >"$LOG" 2>&1 &
BERTHD=$!
export DOCKER_HOST=unix://$SOCK
for _ in $(seq 300); do
  "$DOCKER" version >/dev/null 2>&1 && break
  kill -0 "$BERTHD" 2>/dev/null || { tail -20 "$LOG" >&2; echo "compat-peer: berthd exited during start-up" >&2; exit 1; }
  sleep 0.1
done
"$DOCKER" version >/dev/null 2>&1 || { tail -20 "$LOG" >&2; echo "compat-peer: berthd did not answer within 30 s" >&2; exit 1; }

npx --no-install tsx scripts/busybox-image.ts | "$DOCKER" load >/dev/null
IMAGE=busybox:latest bash "$PEER_DIR/run.sh" "$OUT" "$@" >/dev/null || true
tail -1 "$OUT" | grep -q '^# pytest exit' || { echo "compat-peer: the suite did not finish (see $OUT)" >&2; }
/usr/bin/python3 "$PEER_DIR/compare.py" "$PEER_DIR/results-dockerd-20.10.txt" "$OUT"
