#!/usr/bin/env python3
"""Side-by-side lifecycle benchmark: rcompose on its embedded engine (daemonless, the
default) against Docker Compose v2.40.3 on dockerd.

Both tools run the same generated project (shared `bench/gen.py indep N`, busybox whose
PID 1 traps SIGTERM and exits at once, so `down` measures the engine, not a grace period);
only the image reference differs: the embedded engine pulls from the local registry, dockerd
has the image tagged locally. The embedded engine keeps its state in a private
RCOMPOSE_ROOT, seeded by one untimed `pull`, so neither side times a pull. Every round
uses a fresh project name and ends with a `down`; rounds alternate (rcompose, Compose,
Compose, rcompose, ...) after a warm-up round, and medians are reported. Scenarios and the
targets of issue 5:

  up.fresh N     `up -d` of N independent services on a fresh project   ≥ 5x faster
  up.noop N      `up -d` again on the converged project (nothing to do)  ≥ 5x faster
  down N         `down` of the N running services                        ≥ 5x faster

The embedded figures include each container's bridge network setup (netavark) and the
project network's creation and removal. `--check` fails on a missed target; without it the
figures are only reported (a shared CI machine is noisy). Needs root.

    bench/embedded_lifecycle_bench.py [--runs 3] [--services 10] [--check] [--json out.json]

Environment: as bench/lifecycle_bench.py, plus BENCH_REGISTRY_IMAGE (default
127.0.0.1:5000/rcompose-test/busybox:1, made by scripts/docker-env.sh) for the embedded side.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from config_bench import find_reference, parse_with_paths  # noqa: E402
from lifecycle_bench import Bench, parser, report  # noqa: E402

TARGET = ("faster_by", 5.0)


class EmbeddedBench(Bench):
    fresh_names = True

    def __init__(self, args, ref):
        super().__init__(args, ref)
        self.state = os.path.join(self.work, "state")

    def env(self, tool):
        env = super().env(tool)
        if tool == "rcompose":
            env.update(RCOMPOSE_ENGINE="embedded", RCOMPOSE_ROOT=self.state)
        return env

    def gen(self, kind, n, name, *extra, image=None):
        """The project for Compose in `<work>/<name>`, its twin for the embedded engine
        (registry reference) in `<work>/<name>.embedded`."""
        super().gen(kind, n, name + ".embedded", *extra, image=self.args.registry_image)
        return super().gen(kind, n, name, *extra, image=image)

    def tool_dir(self, tool, project_dir):
        return project_dir + ".embedded" if tool == "rcompose" else project_dir

    def cleaner(self, tool):
        return tool  # two engines: each tool removes its own projects

    def scenarios(self, n):
        pdir = self.gen("indep", n, "indep%d" % n)
        self.run("rcompose", pdir, "rclbench-pull", "pull")  # seeds the image store, untimed
        nothing = lambda tool, name: None  # noqa: E731
        up = lambda tool, name: self.run(tool, pdir, name, "up", "-d")  # noqa: E731
        down = lambda tool, name: self.run(tool, pdir, name, "down", "-t", "0")  # noqa: E731
        self.measure("up.fresh.%d" % n, "`up -d`, %d independent services, fresh" % n, TARGET,
                     pdir, nothing, ["up", "-d"], down)
        # `settle`: containers of the untimed `up -d` may still be starting on dockerd.
        self.measure("up.noop.%d" % n, "no-op `up -d`, %d services converged" % n, TARGET,
                     pdir, up, ["up", "-d"], down, settle=1.0)
        self.measure("down.%d" % n, "`down`, %d services exiting on SIGTERM" % n, TARGET,
                     pdir, up, ["down"], nothing)


def main():
    p = parser(__doc__)
    p.add_argument("--services", type=int, default=10)
    p.add_argument("--registry-image", default=os.environ.get(
        "BENCH_REGISTRY_IMAGE", "127.0.0.1:5000/rcompose-test/busybox:1"))
    args = parse_with_paths(p)
    if os.geteuid() != 0:
        sys.exit("the embedded engine needs root")
    b = EmbeddedBench(args, find_reference())
    try:
        b.scenarios(args.services)
    finally:
        b.cleanup()
    report(b.rows, args, "Lifecycle, embedded engine against Docker Compose on dockerd")


if __name__ == "__main__":
    main()
