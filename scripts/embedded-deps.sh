#!/usr/bin/env bash
# What the embedded engine needs from the distribution, installed when missing: libseccomp's
# headers and pkg-config to build libcontainer's seccomp support, tini for `init: true`,
# netavark + aardvark-dns (and the iptables they drive) for networks, ports and DNS.
# Shared by scripts/test.sh (the test command) and scripts/example.sh (the main job).
set -euo pipefail
missing=""
for pkg in libseccomp-dev pkg-config tini netavark aardvark-dns iptables iproute2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
