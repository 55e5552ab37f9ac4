#!/usr/bin/env bash
# Prepares a real Docker Engine for the docker-backend tests, on a fresh machine or this one:
#
#   scripts/docker-env.sh        # prints `DOCKER_READY=1` on the last line when usable
#
# 1. installs `docker.io` (dockerd, containerd, runc) and `busybox-static` with apt when missing;
# 2. starts `dockerd` detached (setsid, stdin from /dev/null, log in /tmp/rcompose-dockerd.log,
#    pid in /tmp/rcompose-dockerd.pid) unless a daemon already answers on /var/run/docker.sock;
# 3. builds the offline test image `rcompose-test/busybox:1` (no registry is reachable): a
#    rootfs of busybox-static and its applet links, `docker import`ed with `CMD ["sh"]`;
# 4. starts a local registry (`docker-registry` package) on 127.0.0.1:5000 (storage in
#    /tmp/rcompose-registry, log /tmp/rcompose-registry.log) and pushes the test image to it
#    as 127.0.0.1:5000/rcompose-test/busybox:1 (and :policy) and 127.0.0.1:5000/busybox:latest (dockerd
#    allows plain HTTP on loopback).
#
# Only the dockerd this script started is ever stopped, by `scripts/docker-env.sh stop`.
set -euo pipefail

LOG=/tmp/rcompose-dockerd.log
PIDFILE=/tmp/rcompose-dockerd.pid
IMAGE=rcompose-test/busybox:1

if [ "${1:-}" = "stop" ]; then
  for f in "$PIDFILE" /tmp/rcompose-registry.pid; do
    if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
      kill "$(cat "$f")"
      rm -f "$f"
    fi
  done
  exit 0
fi

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need_pkgs+=(busybox-static)
command -v docker-registry >/dev/null 2>&1 || need_pkgs+=(docker-registry)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# The docker CLI on PATH may be newer than the daemon; any client works for these steps.
DOCKER=$(command -v docker || echo /usr/bin/docker)

if ! "$DOCKER" info >/dev/null 2>&1; then
  echo "starting dockerd (log: $LOG)"
  setsid dockerd >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 120); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! "$DOCKER" info >/dev/null 2>&1; then
    echo "dockerd did not come up; end of its log:"
    tail -20 "$LOG" || true
    exit 1
  fi
fi

if ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "building $IMAGE offline from busybox-static"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var/log}
  chmod 1777 "$root/tmp"
  bb=$(command -v busybox)
  cp "$bb" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | "$DOCKER" import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' - "$IMAGE" >/dev/null
fi

REGISTRY=127.0.0.1:5000
if ! curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; then
  echo "starting a local registry on $REGISTRY (log: /tmp/rcompose-registry.log)"
  mkdir -p /tmp/rcompose-registry
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /tmp/rcompose-registry/data\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n' \
    "$REGISTRY" >/tmp/rcompose-registry/config.yml
  setsid docker-registry serve /tmp/rcompose-registry/config.yml \
    >/tmp/rcompose-registry.log 2>&1 </dev/null &
  echo $! >/tmp/rcompose-registry.pid
  for _ in $(seq 1 40); do
    curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && break
    sleep 0.25
  done
fi
if ! curl -fsS "http://$REGISTRY/v2/rcompose-test/busybox/manifests/1" \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1; then
  "$DOCKER" tag "$IMAGE" "$REGISTRY/$IMAGE"
  "$DOCKER" push "$REGISTRY/$IMAGE" >/dev/null
fi
# The same image under a tag of its own, for the pull-policy scenario (which removes and
# pulls it while other tests use the first one).
if ! curl -fsS "http://$REGISTRY/v2/rcompose-test/busybox/manifests/policy" \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1; then
  "$DOCKER" tag "$IMAGE" "$REGISTRY/rcompose-test/busybox:policy"
  "$DOCKER" push "$REGISTRY/rcompose-test/busybox:policy" >/dev/null
fi
# The same image as 127.0.0.1:5000/busybox:latest, for examples/webapp.
if ! curl -fsS "http://$REGISTRY/v2/busybox/manifests/latest" \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1; then
  "$DOCKER" tag "$IMAGE" "$REGISTRY/busybox:latest"
  "$DOCKER" push "$REGISTRY/busybox:latest" >/dev/null
fi

echo "DOCKER_READY=1"
