#!/usr/bin/env bash
# Regenerates src/containerd/gen from containerd 1.6's API definitions, as Debian 12 ships them.
# The .proto files are fetched at generation time (apt-get download + dpkg -x into a temp dir,
# nothing installed system-wide) and never committed; only the generated TypeScript is.
#   scripts/gen-proto.sh            regenerate into src/containerd/gen
#   scripts/gen-proto.sh --check    regenerate into a temp dir and fail if it differs (CI drift check)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Pinned so the output is reproducible; the drift check would show a Debian update as a diff.
pkgs=(
  "golang-github-containerd-containerd-dev=1.6.20~ds1-1+deb12u3"
  "golang-github-gogo-protobuf-dev=1.3.2-3"
  "golang-github-gogo-googleapis-dev=1.4.0-2"
  "golang-github-containerd-cgroups-dev=1.0.4-1"
)

mode=write
[ "${1:-}" = "--check" ] && mode=check

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

die() { echo "gen-proto: $*" >&2; exit 1; }
command -v apt-get >/dev/null || die "apt-get is required to fetch containerd's .proto files"
[ -x node_modules/.bin/buf ] || die "node_modules/.bin/buf missing: run npm ci first"

(
  cd "$work"
  # apt's sandbox user cannot write into a root-owned mktemp dir; that warning is harmless.
  # A fresh machine may have no package lists yet.
  if ! apt-get download "${pkgs[@]}" >download.log 2>&1; then
    apt-get update -qq >>download.log 2>&1 || true
  fi
  if ! apt-get download "${pkgs[@]}" >>download.log 2>&1; then
    echo "gen-proto: pinned versions unavailable, trying the current candidates" >&2
    apt-get download "${pkgs[@]%%=*}" >>download.log 2>&1 || {
      cat download.log >&2; die "apt-get download failed (run 'apt-get update' first?)"; }
  fi
  for deb in *.deb; do dpkg -x "$deb" x; done
)

src="$work/x/usr/share/gocode/src"
ctd="github.com/containerd/containerd"
proto="$work/buf/proto"
mkdir -p "$proto"
copy() { mkdir -p "$proto/$(dirname "$2")"; cp "$1" "$proto/$2"; }
for f in $(cd "$src" && find "$ctd/api" -name '*.proto' ! -path '*/ttrpc/*'); do copy "$src/$f" "$f"; done
copy "$src/$ctd/runtime/v2/runc/options/oci.proto" "$ctd/runtime/v2/runc/options/oci.proto"
copy "$src/$ctd/protobuf/plugin/fieldpath.proto" "$ctd/protobuf/plugin/fieldpath.proto"
copy "$src/github.com/containerd/cgroups/stats/v1/metrics.proto" "github.com/containerd/cgroups/stats/v1/metrics.proto"
copy "$src/github.com/containerd/cgroups/v2/stats/metrics.proto" "github.com/containerd/cgroups/v2/stats/metrics.proto"
copy "$src/github.com/gogo/protobuf/gogoproto/gogo.proto" "gogoproto/gogo.proto"
copy "$src/github.com/gogo/googleapis/google/rpc/status.proto" "google/rpc/status.proto"

cat >"$work/buf/buf.yaml" <<'YAML'
version: v2
modules:
  - path: proto
YAML
cat >"$work/buf/buf.gen.yaml" <<YAML
version: v2
plugins:
  - local: $root/node_modules/.bin/protoc-gen-es
    out: out
    opt:
      - target=ts
      - import_extension=js
YAML

paths=()
for f in $(cd "$proto" && find "$ctd/api" "$ctd/runtime" "$ctd/protobuf" "github.com/containerd/cgroups" "google/rpc" "gogoproto" -name '*.proto' | sort); do
  paths+=(--path "proto/$f")
done
(cd "$work/buf" && "$root/node_modules/.bin/buf" generate "${paths[@]}") || die "buf generate failed"

out="$work/buf/out"
[ -d "$out/github.com/containerd/containerd/api" ] || die "no output generated"

if [ "$mode" = check ]; then
  if diff -r -q "$out" src/containerd/gen >"$work/diff.txt"; then
    echo "gen-proto: generated code matches src/containerd/gen"
  else
    cat "$work/diff.txt" >&2
    die "src/containerd/gen differs from what 'npm run gen' generates; run it and commit"
  fi
else
  rm -rf src/containerd/gen
  cp -r "$out" src/containerd/gen
  echo "gen-proto: wrote $(find src/containerd/gen -name '*.ts' | wc -l) files to src/containerd/gen"
fi
