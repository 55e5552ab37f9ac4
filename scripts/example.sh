#!/usr/bin/env bash
# The main job of README.md: the examples/hello project on the embedded engine (the
# default), end to end, on a fresh machine, as root.
#
#   1. installs the build dependencies of the embedded engine when missing (libseccomp-dev,
#      pkg-config; tini for `init: true`) and builds rcompose;
#   2. makes the offline test image and serves it from a registry on 127.0.0.1:5000
#      (scripts/docker-env.sh; the image is built with Docker's importer for now, the
#      containers themselves run without any daemon);
#   3. `up -d --wait` (pull, create, start, health-gated), ps, logs, exec, top, down;
#   4. the quickstart, examples/webapp: a health-gated db, a completion-gated migration
#      sharing its named volume, a web service reaching db by name and published on
#      127.0.0.1:18080 (bridge network, DNS and ports by netavark + aardvark-dns); curl,
#      ps, logs, then `down -v`.
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

web() { target/release/rcompose -f examples/webapp/compose.yaml "$@"; }
web up -d --wait
web ps -a
curl -fsS "http://127.0.0.1:${WEB_PORT:-18080}/"
web logs migrate
web exec -T web ping -c 1 db
web down -v
