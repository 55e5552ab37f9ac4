#!/usr/bin/env python3
"""Side-by-side benchmark of the embedded engine against `docker run` on dockerd.

  first.output   container create -> first output: from launching the command to the
                 container's first output byte. `rcompose up -d app` in a project whose
                 network already exists (another service of it runs), so the container is
                 created, wired into the existing bridge and started, as `docker run` does on
                 dockerd's existing default bridge; the line is read from the container's
                 json-file log, polled every millisecond. Against `docker run --rm IMAGE
                 echo` (the byte read from its stdout). Target of issue 4: at least 8x.
  first.fresh    the same from a fresh project: `up -d` also creates the project network
                 (the record, the bridge, its firewall rules). Reported, no target: `docker
                 run` creates no network.
  shim.memory    the resident memory of the supervisor of each of 5 running containers:
                 RSS, PSS and USS of its shim process (the executable's pages are shared by
                 every shim: PSS/USS are what a container costs). Goal: 3 MiB or less.

Runs alternate (rcompose, docker, rcompose, ...) so that machine load affects both alike;
medians are reported. `--check` fails on a missed target; without it the figures are only
reported (a shared CI machine is noisy).

    bench/embedded_bench.py [--runs 7] [--check] [--json out.json]

Environment: RCOMPOSE (default target/release/rcompose), BENCH_REGISTRY_IMAGE (default
127.0.0.1:5000/rcompose-test/busybox:1), BENCH_DOCKER_IMAGE (default rcompose-test/busybox:1);
both are made by scripts/docker-env.sh. Needs root.
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
RCOMPOSE = os.environ.get("RCOMPOSE", os.path.join(ROOT, "target/release/rcompose"))
REG_IMAGE = os.environ.get("BENCH_REGISTRY_IMAGE", "127.0.0.1:5000/rcompose-test/busybox:1")
DOCKER_IMAGE = os.environ.get("BENCH_DOCKER_IMAGE", "rcompose-test/busybox:1")


def compose_file(proj, services):
    os.makedirs(proj, exist_ok=True)
    with open(os.path.join(proj, "compose.yaml"), "w") as f:
        f.write("services:\n")
        for name, command in services.items():
            f.write(f"  {name}:\n    image: {REG_IMAGE}\n    command: {json.dumps(command)}\n")


def embedded_first_output(work, state, i, fresh):
    """Seconds from `up -d app` to app's first output line in its log. `fresh`: the project
    is new (up creates its network); otherwise another service of it already runs."""
    proj = os.path.join(work, f"p{i}")
    compose_file(proj, {"app": ["echo", "first-output"], "hold": ["sleep", "1000"]})
    env = dict(os.environ, RCOMPOSE_ROOT=state, COMPOSE_PROJECT_NAME=f"rcebench{i}", RCOMPOSE_ENGINE="embedded")
    if not fresh:
        subprocess.run([RCOMPOSE, "up", "-d", "hold"], cwd=proj, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
    cdir = os.path.join(state, "containers")
    before = set(os.listdir(cdir)) if os.path.isdir(cdir) else set()
    t0 = time.perf_counter()
    p = subprocess.Popen([RCOMPOSE, "up", "-d", "app"], cwd=proj, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    found = None
    deadline = t0 + 30
    while time.perf_counter() < deadline and found is None:
        if os.path.isdir(cdir):
            for c in set(os.listdir(cdir)) - before:
                log = os.path.join(cdir, c, "container-json.log")
                try:
                    with open(log, "rb") as f:
                        if b"first-output" in f.read():
                            found = time.perf_counter() - t0
                except OSError:
                    pass
        if found is None:
            time.sleep(0.001)
    _, err = p.communicate()
    if p.returncode != 0 or found is None:
        raise SystemExit(f"rcompose up -d failed ({p.returncode}): {err.decode()}")
    subprocess.run([RCOMPOSE, "down", "-t", "0"], cwd=proj, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return found


def docker_first_output():
    t0 = time.perf_counter()
    p = subprocess.Popen(["docker", "run", "--rm", DOCKER_IMAGE, "echo", "first-output"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(1)
    t = time.perf_counter() - t0
    p.communicate()
    if p.returncode != 0:
        raise SystemExit("docker run failed")
    return t


def smaps(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1]) / 1024.0
    return out


def shim_memory(work, state, n=5):
    """Resident memory of the shims of n running containers: RSS of one (what `ps` shows:
    it counts the pages of the rcompose executable it maps, shared by every shim), PSS
    (those shared pages split among the processes mapping them) and USS (pages only this
    shim has: what each further container really costs)."""
    proj = os.path.join(work, "rss")
    compose_file(proj, {"app": ["sleep", "1000"]})
    env = dict(os.environ, RCOMPOSE_ROOT=state, COMPOSE_PROJECT_NAME="rcebenchrss", RCOMPOSE_ENGINE="embedded")
    subprocess.run([RCOMPOSE, "up", "-d", "--scale", f"app={n}"], cwd=proj, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    rows = []
    cdir = os.path.join(state, "containers")
    for c in os.listdir(cdir):
        try:
            with open(os.path.join(cdir, c, "status.json")) as f:
                st = json.load(f)
        except OSError:
            continue
        pid = st.get("shim_pid")
        if pid:
            m = smaps(pid)
            rows.append((m.get("Rss", 0), m.get("Pss", 0), m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)))
    subprocess.run([RCOMPOSE, "down", "-t", "0"], cwd=proj, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    if not rows:
        return None
    return tuple(statistics.median(r[i] for r in rows) for i in range(3)) + (len(rows),)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the embedded engine needs root")
    work = tempfile.mkdtemp(prefix="rcebench-")
    state = os.path.join(work, "state")
    try:
        # Warm both: the image in rcompose's store, docker's page cache.
        embedded_first_output(work, state, 999, fresh=True)
        docker_first_output()
        emb, fresh, dock = [], [], []
        for i in range(a.runs):
            emb.append(embedded_first_output(work, state, i, fresh=False))
            dock.append(docker_first_output())
            fresh.append(embedded_first_output(work, state, 100 + i, fresh=True))
        e, d, fr = statistics.median(emb), statistics.median(dock), statistics.median(fresh)
        ratio = d / e
        mem = shim_memory(work, state)
        print(f"first.output  rcompose up -d {e*1000:7.1f} ms   docker run {d*1000:7.1f} ms   ratio {ratio:5.1f}x  (target >= 8x)")
        print(f"first.fresh   rcompose up -d {fr*1000:7.1f} ms   (new project: its network too)   ratio {d/fr:5.1f}x  (reported)")
        if mem is None:
            print("shim.memory   not measured")
        else:
            rss_v, pss_v, uss_v, n = mem
            print(f"shim.memory   with {n} containers, per shim: RSS {rss_v:.2f} MiB, PSS {pss_v:.2f} MiB, "
                  f"USS {uss_v:.2f} MiB (goal <= 3 MiB)")
        rss = mem[1] if mem else None
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"embedded_ms": e * 1000, "docker_ms": d * 1000, "ratio": ratio,
                           "embedded_fresh_project_ms": fr * 1000, "shim_pss_mib": rss,
                           "shim_rss_pss_uss_mib": mem[:3] if mem else None,
                           "runs": a.runs}, f, indent=2)
        if a.check and (ratio < 8 or rss is None):
            raise SystemExit("target missed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
