#!/usr/bin/env bash
# bench/compare.sh (npm run bench) — berth against dockerd 20.10 on the same host, the same
# containerd build, the same busybox image and the same N (issue 9).
#
# One run brings up, each on a private root under a temp dir:
#   (a) berthd with its embedded containerd (metrics on a free loopback port), --bridge none;
#   (b) the reference containerd 1.6 + dockerd 20.10 of ../shared/bench/bench-env-dockerd.sh,
#       also without networking (--bridge none);
# loads berth's busybox fixture image into both, runs ../shared/bench/rpcbench.sh against
# both (scenario by scenario, interleaved), and writes under bench/results/:
#   dockerd.{md,json,jsonl,stderr.log}, berth.{md,json,jsonl,stderr.log},
#   compare.md (rpcbench_lib.py compare) and targets.md (bench/targets.ts: the issue 9 targets).
# Everything it started is stopped by PID on exit, also on failure or Ctrl-C.
#
# Environment:
#   N=10                   repetitions per scenario (both daemons)
#   SCENARIOS="exec kill"  a subset of rpcbench's scenarios (default: all)
#   BERTHD_RUNNER=dist     dist: `npm run build` (tsc, then the berthd bundle) and `node dist/cli/berthd.js`
#                          (the default: tsx adds its loader to every module and measurably
#                          more CPU, see docs/benchmarks.md); tsx: `node --import tsx src/cli/berthd.ts`
#   CPU_PROFILE_DIR=DIR    run berthd under `node --cpu-prof --cpu-prof-dir=DIR`; the profile
#                          is written when berthd exits and summarised by bench/cpuprofile.ts
#   REF=1                  0: skip dockerd and compare with an existing bench/results/dockerd.json
#   INTERLEAVE=1           each scenario against both daemons back to back (order alternating);
#                          0: every scenario against dockerd first, then every one against berth
#   OUT=bench/results      where results go
#   DOCKER=docker          the Docker CLI (28.x); IMG=busybox:latest
#   KEEP=0                 1: keep the temp dir (daemon logs) after the run
#   STRICT=0               1: exit 3 when a target is missed (the default only reports)
set -uo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED_IN=${BERTH_SHARED:-$REPO/../shared}
N=${N:-10}
SCENARIOS=${SCENARIOS:-}
RUNNER=${BERTHD_RUNNER:-dist}
PROF=${CPU_PROFILE_DIR:-}
REF=${REF:-1}
OUT=${OUT:-$REPO/bench/results}
IMG=${IMG:-busybox:latest}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
NS=berthbench

STEP="checking prerequisites"
BASE=""
BERTHD_PID=""
BERTH_CTD_PID=""
REF_UP=0

log() { echo "[compare $(date +%T)] $*" >&2; }
die() { echo "compare.sh: FAILED while $STEP: $*" >&2; exit 1; }
alive() { [ -n "$1" ] && [ -d "/proc/$1" ]; }
# true if /proc/PID/cmdline mentions TEXT (a pid we recorded still belongs to our run)
owns() { alive "$1" && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }
stop_pid() {  # stop_pid PID MARK [GRACE_S]: SIGTERM, then SIGKILL after GRACE_S, only if PID is ours
  local p=$1 mark=$2 grace=${3:-15} i
  owns "$p" "$mark" || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do alive "$p" || return 0; sleep 0.1; done
  log "pid $p did not stop after ${grace}s: SIGKILL"
  kill -KILL "$p" 2>/dev/null
  for ((i = 0; i < 50; i++)); do alive "$p" || return 0; sleep 0.1; done
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cleanup() {
  local rc=$? p
  set +e
  trap - EXIT INT TERM
  [ -n "$BASE" ] || exit "$rc"
  log "cleaning up (everything started by this run, by PID)"
  # Containers left by a failed scenario: both daemons are private to this run.
  if alive "$BERTHD_PID" && [ -S "$BASE/berth/berth.sock" ]; then
    DOCKER_HOST=unix://$BASE/berth/berth.sock "$DOCKER" ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$BASE/berth/berth.sock" "$DOCKER" rm -f >/dev/null 2>&1
  fi
  if [ "$REF_UP" = 1 ] && [ -S "$BASE/ref/dockerd/run/docker.sock" ]; then
    DOCKER_HOST=unix://$BASE/ref/dockerd/run/docker.sock "$DOCKER" ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$BASE/ref/dockerd/run/docker.sock" "$DOCKER" rm -f >/dev/null 2>&1
  fi
  # berthd stops its embedded containerd on SIGTERM; the check after it covers a berthd that died.
  stop_pid "$BERTHD_PID" "$BASE/berth" 20
  stop_pid "$BERTH_CTD_PID" "$BASE/berth" 15
  [ "$REF_UP" = 1 ] && "$SHARED/bench/bench-env-dockerd.sh" stop "$BASE/ref" >/dev/null 2>&1
  # Shims of this run's containerds (their -address is under BASE), should any be left.
  for p in $(pgrep -f "containerd-shim.*$BASE/" 2>/dev/null); do stop_pid "$p" "$BASE/" 5; done
  if grep -qF " $BASE/" /proc/mounts; then
    log "mounts still present under $BASE (kept; unmount them by hand):"
    grep -F " $BASE/" /proc/mounts | awk '{print "  " $2}' >&2
    KEEP=1
  fi
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
    echo "compare.sh: FAILED (exit $rc) while $STEP" >&2
    for f in "$BASE/berth/berthd.log" "$BASE/berth/root/containerd/containerd.log" "$BASE/ref/logs/dockerd.log" "$BASE/ref/logs/containerd.log"; do
      [ -s "$f" ] && { echo "---- last lines of $f" >&2; tail -n 15 "$f" >&2; }
    done
    KEEP=1
  fi
  if [ "$KEEP" = 1 ]; then log "kept $BASE"; else rm -rf "$BASE"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- prerequisites
[ -d "$SHARED_IN/bench" ] || die "the shared dir is not at $SHARED_IN (set BERTH_SHARED)"
SHARED=$(cd "$SHARED_IN" && pwd)
command -v python3 >/dev/null || die "python3 is required (rpcbench_lib.py)"
command -v containerd >/dev/null || die "containerd is not installed"
DOCKER=${DOCKER:-$(command -v docker)}
[ -x "$DOCKER" ] || die "no Docker CLI (set DOCKER=/path/to/docker)"
if [ "$REF" = 1 ] && ! command -v dockerd >/dev/null; then
  STEP="installing docker.io (dockerd 20.10)"
  [ "$(id -u)" = 0 ] || die "dockerd is missing: run 'apt-get install -y docker.io' as root"
  log "dockerd missing: apt-get install -y docker.io"
  DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >/dev/null || die "apt-get install -y docker.io failed"
fi
[ "$REF" = 1 ] || [ -s "$OUT/dockerd.json" ] || die "REF=0 needs an earlier $OUT/dockerd.json"
mkdir -p "$OUT"
BASE=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
log "work dir $BASE; N=$N; berthd runner: $RUNNER${PROF:+ (CPU profile to $PROF)}"

# ---------------------------------------------------------------- berthd
STEP="starting berthd"
cd "$REPO" || die "cannot cd $REPO"
NODE_FLAGS=()
[ -n "$PROF" ] && { mkdir -p "$PROF"; NODE_FLAGS+=(--cpu-prof "--cpu-prof-dir=$PROF"); }
case $RUNNER in
  dist)
    STEP="building berth (npm run build)"
    npm run --silent build || die "the build failed (BERTHD_RUNNER=tsx runs from the sources)"
    BERTHD=(node "${NODE_FLAGS[@]}" dist/cli/berthd.js) ;;
  tsx) BERTHD=(node "${NODE_FLAGS[@]}" --import tsx src/cli/berthd.ts) ;;
  *) die "BERTHD_RUNNER must be dist or tsx" ;;
esac
STEP="starting berthd"
mkdir -p "$BASE/berth"
BSOCK=$BASE/berth/berth.sock
# setsid: a Ctrl-C on the terminal reaches this script (which stops berthd) and not berthd.
setsid "${BERTHD[@]}" --root "$BASE/berth/root" -H "unix://$BSOCK" --bridge none \
  --containerd-namespace "$NS" > "$BASE/berth/berthd.log" 2>&1 < /dev/null &
LAUNCHED=$!
for _ in $(seq 600); do
  [ -S "$BSOCK" ] && [ -s "$BASE/berth/root/berthd.pid" ] && break
  alive "$LAUNCHED" || die "berthd exited during start-up (see $BASE/berth/berthd.log)"
  sleep 0.1
done
BERTHD_PID=$(cat "$BASE/berth/root/berthd.pid" 2>/dev/null)
alive "$BERTHD_PID" || BERTHD_PID=$LAUNCHED
DOCKER_HOST=unix://$BSOCK "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "berthd does not answer on $BSOCK"
BERTH_CTD_PID=$(cat "$BASE/berth/root/containerd/containerd.pid" 2>/dev/null)
alive "$BERTH_CTD_PID" || die "no embedded containerd pid in $BASE/berth/root/containerd/containerd.pid"
BERTH_METRICS=$(sed -n '/^\[metrics\]/,/^\[/s/^ *address = "\(.*\)"/\1/p' "$BASE/berth/root/containerd/config.toml")
[ -n "$BERTH_METRICS" ] || die "no [metrics] address in berth's containerd config.toml"
curl -sf "http://$BERTH_METRICS/v1/metrics" 2>/dev/null | grep -q grpc_server_started_total ||
  python3 -c "import urllib.request,sys; sys.exit(0 if b'grpc_server_started_total' in urllib.request.urlopen('http://$BERTH_METRICS/v1/metrics').read() else 1)" ||
  die "berth's containerd serves no grpc_server_started_total on $BERTH_METRICS"
log "berthd pid $BERTHD_PID, containerd pid $BERTH_CTD_PID, metrics $BERTH_METRICS (grpc_histogram off in berth's config: no handling-time table for berth)"

# ---------------------------------------------------------------- dockerd 20.10
if [ "$REF" = 1 ]; then
  STEP="starting the reference containerd + dockerd 20.10"
  REF_PORT=$(free_port)
  REF_UP=1
  METRICS_PORT=$REF_PORT "$SHARED/bench/bench-env-dockerd.sh" start "$BASE/ref" > "$BASE/ref.env" || die "bench-env-dockerd.sh start failed"
  REF_DOCKER_HOST=$(sed -n 's/^export DOCKER_HOST=//p' "$BASE/ref.env")
  REF_CTD_PID=$(sed -n 's/^export CTD_PID=//p' "$BASE/ref.env")
  REF_DAEMON_PID=$(sed -n 's/^export DAEMON_PID=//p' "$BASE/ref.env")
  REF_CTD_ADDRESS=$(sed -n 's/^export CTD_ADDRESS=//p' "$BASE/ref.env")
  for _ in $(seq 100); do DOCKER_HOST=$REF_DOCKER_HOST "$DOCKER" version >/dev/null 2>&1 && break; sleep 0.1; done
  DOCKER_HOST=$REF_DOCKER_HOST "$DOCKER" version >/dev/null 2>&1 || die "dockerd does not answer on $REF_DOCKER_HOST"
  alive "$REF_DAEMON_PID" && alive "$REF_CTD_PID" || die "dockerd or its containerd is not running"
  log "dockerd pid $REF_DAEMON_PID, containerd pid $REF_CTD_PID, metrics 127.0.0.1:$REF_PORT"
fi

# ---------------------------------------------------------------- the same image in both
STEP="building the busybox fixture image"
TAGS=$IMG npx --no-install tsx scripts/busybox-image.ts "$BASE/busybox.tar" || die "scripts/busybox-image.ts failed"
STEP="loading the image into berthd"
DOCKER_HOST=unix://$BSOCK "$DOCKER" load -i "$BASE/busybox.tar" >/dev/null || die "docker load into berthd failed"
if [ "$REF" = 1 ]; then
  STEP="loading the image into dockerd"
  DOCKER_HOST=$REF_DOCKER_HOST "$DOCKER" load -i "$BASE/busybox.tar" >/dev/null || die "docker load into dockerd failed"
fi

# ---------------------------------------------------------------- warm-up, then quiet
# A short warm-up of the paths the scenarios use (both daemons alike), then wait until each daemon
# is idle: right after start-up and the image load, berthd spends tens of ms of CPU over the next
# seconds (V8 compiling and collecting after the load), and rpcbench's first idle window would
# take that for background activity and over-correct every CPU figure by it.
warm_up() {  # warm_up DOCKER_HOST
  local id i
  for i in 1 2 3; do DOCKER_HOST=$1 "$DOCKER" run --rm --network none "$IMG" true >/dev/null || return 1; done
  id=$(DOCKER_HOST=$1 "$DOCKER" run -d --network none "$IMG" sleep 1000) || return 1
  for i in 1 2 3; do DOCKER_HOST=$1 "$DOCKER" exec "$id" true >/dev/null || return 1; done
  DOCKER_HOST=$1 "$DOCKER" inspect "$id" >/dev/null && DOCKER_HOST=$1 "$DOCKER" ps -a >/dev/null &&
    DOCKER_HOST=$1 "$DOCKER" rm -f "$id" >/dev/null
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
quiesce() {  # quiesce PID NAME: until PID uses at most 1 tick (10 ms) of CPU in a second, at most 20 s
  local a b i
  for ((i = 0; i < 20; i++)); do
    a=$(cpu_ticks "$1"); sleep 1; b=$(cpu_ticks "$1")
    [ $((b - a)) -le 1 ] && return 0
  done
  log "$2 (pid $1) is still busy after 20 s; measuring anyway"
}
STEP="warming up berthd"
warm_up "unix://$BSOCK" || die "the warm-up against berthd failed"
if [ "$REF" = 1 ]; then
  STEP="warming up dockerd"
  warm_up "$REF_DOCKER_HOST" || die "the warm-up against dockerd failed"
fi
STEP="waiting for the daemons to be idle"
quiesce "$BERTHD_PID" berthd
[ "$REF" = 1 ] && quiesce "$REF_DAEMON_PID" dockerd

# ---------------------------------------------------------------- rpcbench
# Interleaved (the default with REF=1): each scenario runs against dockerd and berth back to back
# (the order alternating from one scenario to the next), so both see the same background load on a
# shared host; the per-scenario records are then merged into one report per daemon with
# rpcbench_lib.py. INTERLEAVE=0 runs all scenarios against dockerd, then all against berth.
CLI_VERSION=$("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null)
CTD_VERSION=$(containerd --version | awk '{print $3}')
TITLE_BERTH="Docker CLI $CLI_VERSION -> berthd $(node -p 'require("./package.json").version') ($RUNNER) -> containerd $CTD_VERSION"
[ "$REF" = 1 ] && TITLE_DOCKERD="Docker CLI $CLI_VERSION -> dockerd $(dockerd --version | awk '{print $3}' | tr -d ,) -> containerd $CTD_VERSION"
run_rpcbench() {  # run_rpcbench dockerd|berth "SCENARIOS" OUTPREFIX
  local who=$1 scen=$2 prefix=$3 sopt=()
  [ -n "$scen" ] && sopt=(-s "$scen")
  if [ "$who" = dockerd ]; then
    DOCKER=$DOCKER DOCKER_HOST=$REF_DOCKER_HOST CTD_METRICS=127.0.0.1:$REF_PORT CTD_PID=$REF_CTD_PID \
      DAEMON_PID=$REF_DAEMON_PID CTD_ADDRESS=$REF_CTD_ADDRESS \
      "$SHARED/bench/rpcbench.sh" -n "$N" -i "$IMG" "${sopt[@]}" -o "$prefix" -t "$TITLE_DOCKERD"
  else
    DOCKER=$DOCKER DOCKER_HOST=unix://$BSOCK CTD_METRICS=$BERTH_METRICS CTD_PID=$BERTH_CTD_PID \
      DAEMON_PID=$BERTHD_PID CTD_ADDRESS=$BASE/berth/root/containerd/containerd.sock \
      "$SHARED/bench/rpcbench.sh" -n "$N" -i "$IMG" "${sopt[@]}" -o "$prefix" -t "$TITLE_BERTH"
  fi
}
INTERLEAVE=${INTERLEAVE:-1}
if [ "$REF" = 1 ] && [ "$INTERLEAVE" = 1 ]; then
  LIST=${SCENARIOS:-$("$SHARED/bench/rpcbench.sh" -s list | sed -n 's/^docker: *//p')}
  [ -n "$LIST" ] || die "rpcbench.sh -s list gave no docker scenarios"
  mkdir -p "$BASE/chunks"
  for who in dockerd berth; do : > "$OUT/$who.jsonl"; : > "$OUT/$who.stderr.log"; done
  i=0
  for s in $LIST; do
    order="dockerd berth"; [ $((i % 2)) = 1 ] && order="berth dockerd"; i=$((i + 1))
    for who in $order; do
      STEP="running rpcbench scenario $s against $who"
      log "$STEP (N=$N)"
      run_rpcbench "$who" "$s" "$BASE/chunks/$who-$s" 2> "$BASE/chunks/$who-$s.log" \
        || { tail -n 5 "$BASE/chunks/$who-$s.log" >&2; die "rpcbench failed (see $BASE/chunks/$who-$s.stderr.log)"; }
      cat "$BASE/chunks/$who-$s.jsonl" >> "$OUT/$who.jsonl"
      cat "$BASE/chunks/$who-$s.stderr.log" >> "$OUT/$who.stderr.log" 2>/dev/null
    done
  done
  STEP="merging the interleaved records"
  for who in dockerd berth; do
    first=$(set -- $LIST; echo "$1"); last=$(set -- $LIST; eval echo "\${$#}")
    python3 - "$BASE/chunks/$who-$first.json" "$BASE/chunks/$who-$last.json" "$BASE/meta-$who.json" <<'PYEOF' || die "merging meta failed"
import json, sys
first, last = (json.load(open(p))["meta"] for p in sys.argv[1:3])
m = dict(first)
m["loadavg_at_end"] = last.get("loadavg_at_end", "")
m["interleaved"] = "yes: each scenario ran against dockerd and berth back to back, order alternating"
json.dump(m, open(sys.argv[3], "w"))
PYEOF
    title=$([ "$who" = dockerd ] && echo "$TITLE_DOCKERD" || echo "$TITLE_BERTH")
    python3 "$SHARED/bench/rpcbench_lib.py" report --in "$OUT/$who.jsonl" --md "$OUT/$who.md" --json "$OUT/$who.json" \
      --title "$title" --meta-json "$BASE/meta-$who.json" || die "rpcbench_lib.py report failed for $who"
  done
else
  if [ "$REF" = 1 ]; then
    STEP="running rpcbench against dockerd 20.10"
    log "$STEP (N=$N)"
    run_rpcbench dockerd "$SCENARIOS" "$OUT/dockerd" || die "rpcbench against dockerd failed (see $OUT/dockerd.stderr.log)"
  fi
  STEP="running rpcbench against berthd"
  log "$STEP (N=$N)"
  run_rpcbench berth "$SCENARIOS" "$OUT/berth" || die "rpcbench against berthd failed (see $OUT/berth.stderr.log)"
fi

# ---------------------------------------------------------------- the comparison
STEP="comparing"
python3 "$SHARED/bench/rpcbench_lib.py" compare "$OUT/dockerd.json" "$OUT/berth.json" --md "$OUT/compare.md" || die "rpcbench_lib.py compare failed"
cat "$OUT/compare.md"
echo
npx --no-install tsx bench/targets.ts --dockerd "$OUT/dockerd.json" --berth "$OUT/berth.json" \
  --floor "$SHARED/reference/rpc-floor.md" --md "$OUT/targets.md"
TRC=$?
[ "$TRC" -le 3 ] || die "bench/targets.ts failed"

# ---------------------------------------------------------------- CPU profile (written when berthd exits)
if [ -n "$PROF" ]; then
  STEP="writing berthd's CPU profile"
  DOCKER_HOST=unix://$BSOCK "$DOCKER" ps -aq | xargs -r env DOCKER_HOST="unix://$BSOCK" "$DOCKER" rm -f >/dev/null 2>&1
  stop_pid "$BERTHD_PID" "$BASE/berth" 20
  f=$(ls -t "$PROF"/*.cpuprofile 2>/dev/null | head -n 1)
  if [ -n "$f" ]; then npx --no-install tsx bench/cpuprofile.ts "$f" --top 30 | tee "$OUT/berthd-profile.txt"
  else log "no .cpuprofile in $PROF (berthd did not exit normally)"; fi
fi
STEP="done"
log "results: $OUT/{dockerd,berth}.{md,json}, $OUT/compare.md, $OUT/targets.md"
[ "$STRICT" = 1 ] && [ "$TRC" = 3 ] && exit 3
exit 0
