#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: install what is missing, then run a container
# through berth on its own private containerd (started and stopped here), from a busybox rootfs
# made of the host's busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "main: running a container with berth"
npx --no-install tsx examples/demo.ts "$@" || { echo "main: FAILED: the demo container did not run (see the messages above)" >&2; exit 1; }
