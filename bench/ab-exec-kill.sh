#!/usr/bin/env bash
# bench/ab-exec-kill.sh ROUNDS K CHECKOUT_A CHECKOUT_B ... — two (or more) builds of berthd side by
# side on the same host, for a before/after of exec and kill that a shared, loaded host cannot
# spoil: the daemons run at the same time and the rounds alternate between them.
#
# Each CHECKOUT is a berth tree with dist/ built (npx tsc -p tsconfig.build.json) and node_modules.
# One berthd per checkout (private root, --bridge none), the busybox fixture loaded, a warm-up,
# then ROUNDS rounds; per round and daemon (the order alternating): K `docker exec CT true` on one
# container, timed, with the daemon's CPU (all threads' schedstat) per exec; K `docker kill` +
# `docker wait` of running containers, timed, with the CPU per kill. Prints the medians over the
# rounds. Everything it started is stopped by PID on exit. Needs root and the Docker CLI.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=$1; K=$2; shift 2
REPOS=("$@")
BASE=$(mktemp -d "${TMPDIR:-/tmp}/berth-ab.XXXXXX")
PIDS=()
DOCKER=$(command -v docker)
cleanup() {
  for i in "${!REPOS[@]}"; do
    S=$BASE/d$i/b.sock
    DOCKER_HOST=unix://$S $DOCKER ps -aq 2>/dev/null | xargs -r env DOCKER_HOST=unix://$S $DOCKER rm -f >/dev/null 2>&1
  done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do for _ in $(seq 100); do [ -d /proc/$p ] || break; sleep 0.1; done; done
  grep -qF " $BASE/" /proc/mounts && { echo "mounts left under $BASE"; return; }
  rm -rf "$BASE"
}
trap cleanup EXIT
(cd "$HERE" && TAGS=busybox:latest npx --no-install tsx scripts/busybox-image.ts $BASE/busybox.tar >/dev/null)
for i in "${!REPOS[@]}"; do
  R=${REPOS[$i]}; D=$BASE/d$i; mkdir -p $D
  (cd $R && setsid node dist/cli/berthd.js --root $D/root -H unix://$D/b.sock --bridge none --containerd-namespace ekab$i > $D/log 2>&1 < /dev/null &)
done
for i in "${!REPOS[@]}"; do
  D=$BASE/d$i
  for _ in $(seq 300); do [ -S $D/b.sock ] && [ -s $D/root/berthd.pid ] && break; sleep 0.1; done
  PIDS+=("$(cat $D/root/berthd.pid)")
  export DOCKER_HOST=unix://$D/b.sock
  $DOCKER load -i $BASE/busybox.tar >/dev/null
  for _ in 1 2 3; do $DOCKER run --rm --network none busybox true >/dev/null; done
  id=$($DOCKER run -d --network none busybox sleep 1000)
  for _ in $(seq 20); do $DOCKER exec $id true; done
  echo $id > $D/ct
done
cpu() { local t=0 x; for f in /proc/$1/task/*/schedstat; do read -r x _ < $f 2>/dev/null && t=$((t + x)); done; echo $t; }
now() { local t=$EPOCHREALTIME; echo ${t/./}; }
med() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
for i in "${!REPOS[@]}"; do : > $BASE/d$i/exec.w; : > $BASE/d$i/kill.w; : > $BASE/d$i/exec.c; : > $BASE/d$i/kill.c; done
for ((r = 0; r < ROUNDS; r++)); do
  order=("${!REPOS[@]}"); [ $((r % 2)) = 1 ] && order=($(printf '%s\n' "${!REPOS[@]}" | tac))
  for i in "${order[@]}"; do
    D=$BASE/d$i; export DOCKER_HOST=unix://$D/b.sock; P=${PIDS[$i]}; id=$(cat $D/ct)
    ids=(); for ((k = 0; k < K; k++)); do ids+=($($DOCKER run -d --network none busybox sleep 1000)); done
    sleep 0.5
    c0=$(cpu $P)
    for ((k = 0; k < K; k++)); do t0=$(now); $DOCKER exec $id true; t1=$(now); echo $(( (t1 - t0) )) >> $D/exec.w; done
    c1=$(cpu $P); echo $(( (c1 - c0) / K )) >> $D/exec.c
    sleep 0.5
    c0=$(cpu $P)
    for cid in "${ids[@]}"; do t0=$(now); $DOCKER kill $cid >/dev/null && $DOCKER wait $cid >/dev/null; t1=$(now); echo $(( (t1 - t0) )) >> $D/kill.w; done
    sleep 0.3
    c1=$(cpu $P); echo $(( (c1 - c0) / K )) >> $D/kill.c
    $DOCKER rm "${ids[@]}" >/dev/null
  done
done
for i in "${!REPOS[@]}"; do
  D=$BASE/d$i
  printf '%s: exec wall med %.1f ms, cpu/exec med %.2f ms | kill+wait wall med %.1f ms, cpu/kill med %.2f ms\n' "${REPOS[$i]}" \
    $(med < $D/exec.w | awk '{print $1/1000}') $(med < $D/exec.c | awk '{print $1/1e6}') \
    $(med < $D/kill.w | awk '{print $1/1000}') $(med < $D/kill.c | awk '{print $1/1e6}')
done
cat /proc/loadavg
