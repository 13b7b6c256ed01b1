"""The AC check on the whole imported net against the check of the design alone, and what it does to `optimize`.

For mv_oberrhein + the 3 customers of examples/networks/oberrhein-customers.csv and SimBench 1-MV-rural--0-sw + the
5 of examples/networks/simbench-rural-customers.csv, the net is imported twice: with its pandapower net kept (the
whole-net check) and without (the design alone, as before). Then, alternated in one run:
  check     the AC check of one design (the linear optimum): validate_on_net against validate_alone, `--repeat`
            times each (the net's first read, 0.4 s for mv_oberrhein, is reported apart as `first read`)
  optimize  optimize_network on each folder, `--repeat` times each: wall time, AC rounds, cost (in this process,
            so the net is read once, as in optimize-many's worker or the API)
  cli       `costmodel optimize FOLDER` in a new process on each folder, `--repeat` times each: wall time, the
            reading of the net and Python's start included (what a planner waits for)
and prints medians and the ratios whole / alone.

    nice -n 10 .venv/bin/python benchmarks/ac_whole_net.py --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.grid.cli_network import optimize_network  # noqa: E402
from costmodel.grid.importers import load_pandapower, load_simbench, network_from_pandapower, write_network  # noqa: E402
from costmodel.grid.network import load_grid_limits, load_network, read_csv  # noqa: E402
from costmodel.grid.radial import extract, prepare, solve  # noqa: E402
from costmodel.grid.validate import _flowed_net, network_net, validate_alone, validate_on_net  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "networks"
CASES = {"mv_oberrhein+3": (lambda: load_pandapower("mv_oberrhein"), "oberrhein-customers.csv"),
         "simbench-rural+5": (lambda: load_simbench("1-MV-rural--0-sw"), "simbench-rural-customers.csv")}
RULESET = "national-1996"


def folders(name: str, root: Path) -> tuple[Path, Path]:
    load, customers = CASES[name]
    net = load()
    network = network_from_pandapower(net, read_csv(EXAMPLES / customers), source=name)
    return write_network(network, root / f"{name}-whole", net), write_network(network, root / f"{name}-alone")


def bench(name: str, repeat: int, root: Path) -> dict:
    whole, alone = folders(name, root)
    network = load_network(whole)
    inst = prepare(network, pd.read_csv(whole / "customers.csv"), load_grid_limits(RULESET))
    design = extract(inst, solve(inst, 30, 0.005))
    _flowed_net.cache_clear()
    began = time.perf_counter()
    imported = network_net(network)
    first_read = time.perf_counter() - began
    check = {"whole": [], "alone": []}
    for _ in range(repeat):
        for kind in ("whole", "alone"):
            began = time.perf_counter()
            validate_on_net(design, network, imported) if kind == "whole" else validate_alone(design, network)
            check[kind].append(time.perf_counter() - began)
    run = {"whole": [], "alone": []}
    outcome = {}
    for _ in range(repeat):
        for kind, folder in (("whole", whole), ("alone", alone)):
            began = time.perf_counter()
            out = optimize_network(folder, folder / "customers.csv", RULESET, time_limit_s=30)
            run[kind].append(time.perf_counter() - began)
            outcome[kind] = (out["report"]["ac_rounds"], out["report"]["objective_cny"], out["validation"]["summary"]["violations"])
    cli = {"whole": [], "alone": []}
    for _ in range(repeat):
        for kind, folder in (("whole", whole), ("alone", alone)):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", "from costmodel.cli import main; main()", "optimize", str(folder),
                            "--ruleset", RULESET, "--time-limit", "30", "--json"], check=True, capture_output=True,
                           cwd=Path(__file__).resolve().parents[1])
            cli[kind].append(time.perf_counter() - began)
    median = {f"{what}_{kind}_s": statistics.median(times[kind])
              for what, times in (("check", check), ("optimize", run), ("cli", cli)) for kind in ("whole", "alone")}
    return {"case": name, "first_read_s": first_read, **median,
            "check_ratio": median["check_whole_s"] / median["check_alone_s"],
            "optimize_ratio": median["optimize_whole_s"] / median["optimize_alone_s"],
            "cli_ratio": median["cli_whole_s"] / median["cli_alone_s"],
            "rounds_whole": outcome["whole"][0], "rounds_alone": outcome["alone"][0],
            "cost_whole_cny": outcome["whole"][1], "cost_alone_cny": outcome["alone"][1],
            "violations_whole": outcome["whole"][2], "violations_alone": outcome["alone"][2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", choices=list(CASES), action="append")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as root:
        rows = [bench(name, args.repeat, Path(root)) for name in args.case or CASES]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:,.3f}".format):
        print(pd.DataFrame(rows).set_index("case").T)


if __name__ == "__main__":
    main()
