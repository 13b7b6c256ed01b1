"""The capacitated model on imported Steiner instances, with and without the Steiner reductions, alternated in one run.

Each PACE 2018 instance is imported as `costmodel network import-gr` does (`importers.from_steiner`: weights as
metres, a demand so small that nothing binds), then solved by the radial model (`radial.optimise`, gap 0) twice in
turn: without the reductions (`radial.steiner_reductions.unneeded_corridors` returning nothing), then as shipped.
Reports the known optimum (optima.csv, in weight: x 0.001 km x the cable's 420,000 CNY/km gives CNY), status,
objective, bound and seconds of each, the corridors left out and the ratio of seconds (without / with).

    .venv/bin/python benchmarks/radial_steiner_reductions.py --only instance056.gr,instance069.gr --time-limit 60
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import costmodel.grid.radial.build as radial_build  # noqa: E402
from costmodel.grid.importers import from_steiner  # noqa: E402
from costmodel.grid.network import customers_from_nodes, load_grid_limits  # noqa: E402
from costmodel.grid.radial import extract, optimise, prepare  # noqa: E402

PACE = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "steiner-pace2018"


def solve_once(path: Path, time_limit_s: float, reduced: bool) -> dict:
    shipped = radial_build.unneeded_corridors
    if not reduced:
        radial_build.unneeded_corridors = lambda inst: set()
    try:
        network = from_steiner(path)
        inst = prepare(network, customers_from_nodes(network), load_grid_limits("shandong-2019"))
        started = time.perf_counter()
        report = extract(inst, optimise(inst, time_limit_s=time_limit_s, mip_gap=0.0)).report
        seconds = time.perf_counter() - started
    finally:
        radial_build.unneeded_corridors = shipped
    return {"status": report["status"], "objective_cny": report["objective_cny"], "bound_cny": report["bound_cny"],
            "seconds": seconds, "left_out": report["removed"].get("steiner_reductions", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=PACE)
    parser.add_argument("--only", default="instance056.gr,instance069.gr")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    optima = pd.read_csv(args.dir / "optima.csv").set_index("file")
    print(f"{'instance':14s} {'optimum w':>10s} {'without: status':>16s} {'objective':>10s} {'bound':>10s} {'s':>6s} "
          f"{'with: status':>13s} {'objective':>10s} {'bound':>10s} {'s':>6s} {'left out':>8s} {'ratio':>6s}")
    for name in args.only.split(","):
        without = solve_once(args.dir / name, args.time_limit, reduced=False)
        with_ = solve_once(args.dir / name, args.time_limit, reduced=True)
        print(f"{name:14s} {optima.at[name, 'optimum']:>10,} {without['status']:>16s} {without['objective_cny']:>10,.0f} "
              f"{without['bound_cny'] or 0:>10,.0f} {without['seconds']:>6.1f} {with_['status']:>13s} "
              f"{with_['objective_cny']:>10,.0f} {with_['bound_cny'] or 0:>10,.0f} {with_['seconds']:>6.1f} "
              f"{with_['left_out']:>8,} {without['seconds'] / with_['seconds']:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
