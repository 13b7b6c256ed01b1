"""PACE 2018 Steiner instances: proven optimum within the time limit, and saving vs networkx.

    .venv/bin/python benchmarks/steiner_pace.py [--only instance069.gr,instance081.gr] [--time-limit 60] [--verbose]
    .venv/bin/python benchmarks/steiner_pace.py --dir ../shared/benchmarks/steiner-pace2018-track2   # Track 2

Prints one row per instance and exits non-zero if any instance misses its known optimum (or is
not proven optimal within the limit). The baseline is networkx's steiner_tree (Mehlhorn's
2-approximation) on the same graph, timed in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import networkx as nx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.grid.steiner import solve_steiner  # noqa: E402
from costmodel.grid.stp import read_gr  # noqa: E402

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "steiner-pace2018"


VERBOSE_STATS = ("seconds_build", "lp_rounds", "exact_resolves", "seconds_lp_solver", "seconds_separation",
                 "seconds_guided_heuristic", "cuts", "rows_purged", "mip_rounds")


def networkx_weight(problem) -> tuple[float, float]:
    g = nx.Graph()
    for u, v, w in problem.edges[["from_node", "to_node", "weight"]].itertuples(index=False):
        if not g.has_edge(u, v) or g[u][v]["weight"] > w:
            g.add_edge(u, v, weight=w)
    start = time.perf_counter()
    tree = nx.algorithms.approximation.steiner_tree(g, list(problem.terminals), weight="weight")
    return float(tree.size(weight="weight")), time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--only", default="", help="comma-separated file names")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--verbose", action="store_true", help="also print where each solve spent its time")
    args = ap.parse_args(argv)
    optima = pd.read_csv(args.dir / "optima.csv").rename(columns={"instance": "file"})  # Track 2 names it "instance"
    if args.only:
        optima = optima[optima["file"].isin(args.only.split(","))]
    rows = []
    header = (f"{'instance':15} {'nodes':>5} {'edges':>5} {'T':>3} {'red.nodes':>9} {'red.edges':>9} "
              f"{'optimum':>9} {'ours':>9} {'bound':>9} {'gap%':>6} {'s':>6} {'networkx':>9} {'nx s':>5} "
              f"{'saving%':>7} status")
    print(header, flush=True)
    for rec in optima.itertuples(index=False):
        problem = read_gr(args.dir / rec.file)
        nx_weight, nx_seconds = networkx_weight(problem)
        r = solve_steiner(problem, time_limit_s=args.time_limit)
        saving = 100.0 * (nx_weight - r.objective) / nx_weight if r.objective is not None else float("nan")
        ok = r.status == "optimal" and r.objective == rec.optimum and r.seconds <= args.time_limit
        row = dict(instance=rec.file, nodes=rec.nodes, edges=rec.edges, terminals=rec.terminals,
                   nodes_reduced=r.stats["nodes_reduced"], edges_reduced=r.stats["edges_reduced"],
                   optimum=rec.optimum, objective=r.objective, bound=r.bound, gap_pct=100 * (r.gap or 0),
                   seconds=r.seconds, networkx=nx_weight, networkx_seconds=nx_seconds, saving_pct=saving,
                   status=r.status, ok=ok, **{f"red_{k}": v for k, v in r.reductions.items()})
        rows.append(row)
        print(f"{rec.file:15} {rec.nodes:5d} {rec.edges:5d} {rec.terminals:3d} {row['nodes_reduced']:9d} "
              f"{row['edges_reduced']:9d} {rec.optimum:9.0f} {r.objective:9.0f} {r.bound:9.0f} "
              f"{row['gap_pct']:6.3f} {r.seconds:6.2f} {nx_weight:9.0f} {nx_seconds:5.1f} {saving:7.2f} "
              f"{r.status}{'' if ok else '  MISS'}", flush=True)
        if args.verbose:
            print("    " + ", ".join(f"{k} {round(r.stats[k], 1):g}" for k in VERBOSE_STATS if k in r.stats), flush=True)
    frame = pd.DataFrame(rows)
    red = frame[[c for c in frame.columns if c.startswith("red_")]].sum()
    print(f"\nsolved to the proven optimum within {args.time_limit:.0f} s: {int(frame['ok'].sum())}/{len(frame)}; "
          f"total {frame['seconds'].sum():.0f} s; median {frame['seconds'].median():.1f} s; max {frame['seconds'].max():.1f} s")
    print(f"never worse than networkx: {bool((frame['objective'] <= frame['networkx']).all())}; "
          f"saving vs networkx: mean {frame['saving_pct'].mean():.2f}%, max {frame['saving_pct'].max():.2f}%")
    print("reductions over all instances: " + ", ".join(f"{k[4:]} {int(v)}" for k, v in red.items()))
    print(f"nodes {frame['nodes'].sum()} -> {frame['nodes_reduced'].sum()}, "
          f"edges {frame['edges'].sum()} -> {frame['edges_reduced'].sum()} after reductions")
    misses = frame.loc[~frame["ok"], "instance"].tolist()
    if misses:
        print("MISSED: " + ", ".join(misses))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
