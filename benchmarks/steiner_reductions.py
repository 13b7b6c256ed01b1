"""Steiner reductions: what `reduce` leaves of PACE instances, and how long it takes, two settings in one run.

    .venv/bin/python benchmarks/steiner_reductions.py [--only instance187.gr,instance105.gr] [--repeat 2]
    .venv/bin/python benchmarks/steiner_reductions.py --baseline 3ccd48b --track 2 --only instance191.gr,instance040.gr

For each instance, alternately: the long-edge test pairing every two terminals (all pairs, the bound before
issue 23) and pairing only the LONG_EDGE_TERMINALS nearest to each end of an edge (the default). Prints the
nodes, edges and terminals left, the edges the long-edge test removed, the cost forced into the tree and the
seconds, then the ratio. ``--baseline REV``: instead, `reduce` of that revision (its `costmodel/` exported with
`git archive`) against this checkout's, alternated, each in its own process, with every test's count.
Instances from shared/benchmarks, Track 1 then Track 2 (``--track``: one of them; instance040 is in both).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "benchmarks"
DIRS = (SHARED / "steiner-pace2018", SHARED / "steiner-pace2018-track2")


def reduced(problem, terminals_per_end: int | None = None):
    from costmodel.grid import reductions
    from costmodel.grid.reductions import WorkGraph, reduce

    ids = problem.nodes["node"].to_numpy()
    pos = {int(x): i for i, x in enumerate(ids)}
    u = np.array([pos[int(x)] for x in problem.edges["from_node"]], dtype=np.int64)
    v = np.array([pos[int(x)] for x in problem.edges["to_node"]], dtype=np.int64)
    terms = np.array([pos[int(t)] for t in problem.terminals], dtype=np.int64)
    g = WorkGraph.from_arrays(len(ids), u, v, problem.edges["weight"].to_numpy(dtype=float), terms)
    saved = reductions.LONG_EDGE_TERMINALS
    reductions.LONG_EDGE_TERMINALS = terminals_per_end or saved
    try:
        start = time.perf_counter()
        reduce(g)
        return g, time.perf_counter() - start
    finally:
        reductions.LONG_EDGE_TERMINALS = saved


def instance(name: str, track: str = "") -> Path:
    dirs = DIRS[int(track) - 1:int(track)] if track else DIRS
    return next(d / name for d in dirs if (d / name).exists())


def one_engine(names: list[str], track: str) -> None:
    """This process's `costmodel` (whatever is first on sys.path): one row per instance."""
    from costmodel.grid.stp import read_gr

    for name in names:
        g, seconds = reduced(read_gr(instance(name, track)))
        counts = " ".join(f"{k}={v}" for k, v in sorted(g.removed.items()))
        print(f"{len(g.adj):6d} {len(g.edges):6d} {len(g.terminals):5d} {g.fixed_cost:11.0f} {seconds:7.2f}  {counts}",
              flush=True)


def against_baseline(revision: str, names: list[str], repeat: int, track: str) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "costmodel", "tariffs"], check=True,
                             capture_output=True).stdout
    print("load average at the start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    print(f"{'instance':16} {'revision':9} {'nodes':>6} {'edges':>6} {'T':>5} {'fixed':>11} {'s':>7}  removed by", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        for name in names:
            for _ in range(repeat):
                for label, root in ((revision[:9], tmp), ("new", str(ROOT))):
                    out = subprocess.run([sys.executable, __file__, "--engine", root, "--only", name, "--track", track],
                                         capture_output=True, text=True, check=True).stdout
                    print(f"{name:16} {label:9} {out.strip()}", flush=True)
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="instance187.gr,instance105.gr", help="comma-separated file names (Track 1 or 2)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--baseline", help="a git revision: its reduce against this checkout's")
    ap.add_argument("--track", choices=("1", "2"), default="", help="look the instances up in this track only")
    ap.add_argument("--engine", help=argparse.SUPPRESS)  # internal: the folder whose costmodel to run
    args = ap.parse_args(argv)
    names = args.only.split(",")
    if args.engine:
        sys.path.insert(0, args.engine)
        one_engine(names, args.track)
        return 0
    if args.baseline:
        against_baseline(args.baseline, names, args.repeat, args.track)
        return 0
    sys.path.insert(0, str(ROOT))
    from costmodel.grid import reductions
    from costmodel.grid.stp import read_gr

    settings = (("all pairs", 10 ** 9), (f"nearest {reductions.LONG_EDGE_TERMINALS}", reductions.LONG_EDGE_TERMINALS))
    print(f"{'instance':16} {'setting':12} {'nodes':>6} {'edges':>6} {'T':>5} {'long_edge':>9} {'fixed':>9} {'s':>7}", flush=True)
    for name in names:
        problem = read_gr(instance(name, args.track))
        seconds = {label: [] for label, _ in settings}
        for _ in range(args.repeat):
            for label, k in settings:
                g, s = reduced(problem, k)
                seconds[label].append(s)
                print(f"{name:16} {label:12} {len(g.adj):6d} {len(g.edges):6d} {len(g.terminals):5d} "
                      f"{g.removed['long_edge']:9d} {g.fixed_cost:9.0f} {s:7.2f}", flush=True)
        (a, _), (b, _) = settings
        print(f"{name:16} seconds {a} / {b}: {min(seconds[a]) / max(min(seconds[b]), 1e-9):.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
