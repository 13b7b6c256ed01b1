"""Steiner reductions: what `reduce` leaves of PACE instances, and how long it takes, two settings in one run.

    .venv/bin/python benchmarks/steiner_reductions.py [--only instance187.gr,instance105.gr] [--repeat 2]

For each instance, alternately: the long-edge test pairing every two terminals (all pairs, the bound before
issue 23) and pairing only the LONG_EDGE_TERMINALS nearest to each end of an edge (the default). Prints the
nodes, edges and terminals left, the edges the long-edge test removed and the seconds, then the ratio.
Instances from shared/benchmarks (Track 1 and Track 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.grid import reductions  # noqa: E402
from costmodel.grid.reductions import WorkGraph, reduce  # noqa: E402
from costmodel.grid.stp import read_gr  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"
DIRS = (SHARED / "steiner-pace2018", SHARED / "steiner-pace2018-track2")


def reduced(problem, terminals_per_end: int) -> tuple[WorkGraph, float]:
    ids = problem.nodes["node"].to_numpy()
    pos = {int(x): i for i, x in enumerate(ids)}
    u = np.array([pos[int(x)] for x in problem.edges["from_node"]], dtype=np.int64)
    v = np.array([pos[int(x)] for x in problem.edges["to_node"]], dtype=np.int64)
    terms = np.array([pos[int(t)] for t in problem.terminals], dtype=np.int64)
    g = WorkGraph.from_arrays(len(ids), u, v, problem.edges["weight"].to_numpy(dtype=float), terms)
    saved = reductions.LONG_EDGE_TERMINALS
    reductions.LONG_EDGE_TERMINALS = terminals_per_end
    try:
        start = time.perf_counter()
        reduce(g)
        return g, time.perf_counter() - start
    finally:
        reductions.LONG_EDGE_TERMINALS = saved


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="instance187.gr,instance105.gr", help="comma-separated file names (Track 1 or 2)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    settings = (("all pairs", 10 ** 9), (f"nearest {reductions.LONG_EDGE_TERMINALS}", reductions.LONG_EDGE_TERMINALS))
    print(f"{'instance':16} {'setting':12} {'nodes':>6} {'edges':>6} {'T':>5} {'long_edge':>9} {'fixed':>9} {'s':>7}", flush=True)
    for name in args.only.split(","):
        path = next(d / name for d in DIRS if (d / name).exists())
        problem = read_gr(path)
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
