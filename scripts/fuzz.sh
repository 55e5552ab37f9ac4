#!/usr/bin/env bash
# Runs the cargo-fuzz targets of rcompose (fuzz/fuzz_targets/*.rs) for a fixed time each.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
#   SECONDS   time per target (default 30)
#   TARGET    any of: yaml interpolate dotenv short_syntax load (default: all, in that order)
#
#   scripts/fuzz.sh                  # 30 s for every target
#   scripts/fuzz.sh 300 load         # 5 minutes of the whole-loader round trip
#   RCOMPOSE_FUZZ_SECONDS=20 scripts/test.sh   # the optional smoke step of the test script
#
# What it does: puts ~/.cargo/bin on PATH, installs cargo-fuzz if it is missing
# (`cargo install cargo-fuzz --locked`), rebuilds the seed corpora (scripts/fuzz-seeds.sh:
# compose files of $RCOMPOSE_SHARED/corpus, tests/golden and examples, into the gitignored
# fuzz/corpus/<target>), builds every target once, then runs each one with
# `-max_total_time=SECONDS -rss_limit_mb=256 -timeout=1`, i.e. an input that panics, takes
# more than 1 s or makes the process exceed 256 MiB of RSS is a failure. New interesting inputs
# stay in fuzz/corpus/<target> (the next run starts from them).
#
# Exit status: 0 when every target ran clean; 1 when any target failed (crash, panic, timeout,
# OOM, or a build error). For each failure the reproducer's path under fuzz/artifacts/<target>/
# is printed with the commands to replay and minimise it, and the end of the run's log.
# Full logs: fuzz/target/fuzz-logs/<target>.log.
#
# Toolchain: only stable Rust is assumed. cargo-fuzz passes nightly-only flags to rustc
# (`-Z...`), so this script exports RUSTC_BOOTSTRAP=1; no nightly toolchain is needed.
#
# Environment:
#   RCOMPOSE_SHARED             shared material (default ../shared), for the seed corpus
#   RCOMPOSE_FUZZ_SANITIZER     cargo-fuzz sanitizer (default `none`: rcompose has no `unsafe`,
#                               so AddressSanitizer mostly costs speed, and its shadow memory
#                               and quarantine count against the 256 MiB RSS limit; set
#                               `address` to use it anyway)
#   RCOMPOSE_FUZZ_ARGS          extra libFuzzer arguments (e.g. `-jobs=2 -workers=2`)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ALL_TARGETS=(yaml interpolate dotenv short_syntax load)
SECONDS_PER_TARGET=30
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  SECONDS_PER_TARGET=$1
  shift
fi
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
for t in "${TARGETS[@]}"; do
  if [ ! -f "fuzz/fuzz_targets/$t.rs" ]; then
    echo "fuzz.sh: unknown target '$t' (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done
SANITIZER=${RCOMPOSE_FUZZ_SANITIZER:-none}
read -r -a EXTRA_ARGS <<<"${RCOMPOSE_FUZZ_ARGS:-}"

export RUSTC_BOOTSTRAP=1
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "fuzz.sh: cargo is required" >&2; exit 1; }
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked || { echo "fuzz.sh: cannot install cargo-fuzz" >&2; exit 1; }
fi

echo "==> building the seed corpora"
bash scripts/fuzz-seeds.sh "$ROOT/fuzz/corpus" || { echo "fuzz.sh: seed generation failed" >&2; exit 1; }

echo "==> building the fuzz targets (sanitizer: $SANITIZER)"
cargo fuzz build -s "$SANITIZER" || { echo "fuzz.sh: build failed" >&2; exit 1; }

LOGS=$ROOT/fuzz/target/fuzz-logs
mkdir -p "$LOGS"
failed=()
summary=()
for t in "${TARGETS[@]}"; do
  echo "==> fuzzing $t for ${SECONDS_PER_TARGET}s"
  mkdir -p "fuzz/artifacts/$t" "fuzz/corpus/$t"
  marker=$(mktemp)
  log=$LOGS/$t.log
  start=$(date +%s)
  cargo fuzz run -s "$SANITIZER" "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=256 -timeout=1 \
    -print_final_stats=1 "${EXTRA_ARGS[@]}" >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  if [ -z "$execs" ]; then # -fork=N prints no final stats: use the last progress line
    last=$(grep -E '^#[0-9]+: ' "$log" | tail -1)
    execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
    rate=$(sed -nE 's/.* exec\/s: ([0-9]+).*/\1/p' <<<"$last")
  fi
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  mapfile -t found < <(find "fuzz/artifacts/$t" -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
  rm -f "$marker"
  if [ $rc -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
    failed+=("$t")
    summary+=("$(printf '%-13s FAILED (exit %s) after %ss, %s execs, %s exec/s, %s reproducer(s)' \
      "$t" "$rc" "$took" "${execs:-?}" "${rate:-?}" "${#found[@]}")")
    echo "--- $t FAILED (exit $rc); from $log:"
    # The panic message (with the failing input for the round-trip checks), else the end.
    if grep -q 'panicked at' "$log"; then
      sed -n '/panicked at/,/^stack backtrace/p' "$log" | head -n 80
    else
      grep -v '^#[0-9]' "$log" | tail -n 40
    fi
    grep -E '^(==[0-9]+== ERROR|SUMMARY): ' "$log" | head -n 4
    if [ ${#found[@]} -eq 0 ]; then
      echo "--- no reproducer was written (build or harness error?); see $log"
    fi
    for a in "${found[@]}"; do
      echo "--- reproducer: $ROOT/$a"
      echo "    replay:   RUSTC_BOOTSTRAP=1 cargo fuzz run -s $SANITIZER $t $a"
      echo "    minimise: RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s $SANITIZER $t $a"
    done
  else
    summary+=("$(printf '%-13s ok  %4ss  %10s execs  %7s exec/s  peak RSS %4s MB  corpus %s' \
      "$t" "$took" "${execs:-?}" "${rate:-?}" "${rss:-?}" "$corpus")")
  fi
done

echo
echo "==> fuzz summary (${SECONDS_PER_TARGET}s per target, -rss_limit_mb=256 -timeout=1)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failing targets: ${failed[*]}" >&2
  exit 1
fi
