#!/usr/bin/env bash
# The main job of README.md: the examples/hello project on the embedded engine (the
# default), end to end, on a fresh machine, as root.
#
#   1. installs the build dependencies of the embedded engine when missing (libseccomp-dev,
#      pkg-config; tini for `init: true`) and builds rcompose;
#   2. makes the offline test image and serves it from a registry on 127.0.0.1:5000
#      (scripts/docker-env.sh; the image is built with Docker's importer for now, the
#      containers themselves run without any daemon);
#   3. `up -d --wait` (pull, create, start, health-gated), ps, logs, exec, top, down.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the embedded engine needs root: run this as root"; exit 1; }

bash scripts/embedded-deps.sh
cargo build --release --locked
bash scripts/docker-env.sh

rc() { target/release/rcompose -f examples/hello/compose.yaml "$@"; }
set -x
rc up -d --wait
rc ps
rc logs
rc exec -T hello sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status'
rc top
rc down
