"""Many parks: a generator of park folders of mixed sizes, and `optimize-many` over a folder of them.

A park folder is what `costmodel optimize` reads: nodes.csv, corridors.csv, customers.csv and the customers'
applications.csv. Each park is optimised in its own process (forked from a server that has the optimiser imported,
or `python -m costmodel.scenarios.parks FOLDER ...` by hand) with the solver's time limit, and killed if it outlives that limit by more than a grace period; a park that
fails, is infeasible or is killed is a row with its status, never the end of the batch. The parks run one
after the other here, or one Dask task each (costmodel.scenarios.cluster), where each task again starts its
own process: a solver that crashes or hangs takes no worker with it.

Output: one row per park (RESULT_COLUMNS): status, objective, bound, gap, seconds, the quote totals of its
customers under the rule set (who pays for the extension), the AC check (status, rounds, the linear optimum before it)
and the diagnosis of an infeasible park.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from costmodel import files
from costmodel.errors import CostmodelError, InputError
from costmodel.grid.status import AC_ROUNDS
from costmodel.params.parameter import parameters_in_force
from costmodel.paths import EXAMPLES_DIR, tariffs_dir

PARK_FILES = ("nodes.csv", "corridors.csv", "customers.csv", "applications.csv")
RESULT_COLUMNS = ["park", "status", "objective_cny", "bound_cny", "gap", "seconds", "customers", "customer_cny", "grid_cny",
                  "total_cny", "ac_status", "ac_rounds", "linear_objective_cny", "diagnosis"]
PARK_SOLVER_THREADS = 1
CABLES = "YJV22-8.7/15-3x120;YJV22-8.7/15-3x240;YJV22-8.7/15-3x400"
# The applications of a generated park: the shipped example park's first application, with each plot's id and demand.
APPLICATION_TEMPLATE = EXAMPLES_DIR / "park" / "applications.csv"


# ------------------------------------------------------------------------------------------- generating parks

def synthetic_park_parameters() -> dict[str, dict]:
    """The generated parks' loads and feeder-bay capacities, with unit and reference (tariffs/grid/synthetic-park.yaml)."""
    return parameters_in_force(tariffs_dir() / "grid" / "synthetic-park.yaml")


def park_grid(n: int = 12, plots: int = 20, total_kva: float | None = None, spacing_m: float = 400,
              feeder_km: float = 2.0, seed: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """nodes and corridors frames of an n x n street grid park with five feeder bays (the instance of issue 6);
    `total_kva` None: the benchmark park's demand (tariffs/grid/synthetic-park.yaml)."""
    parameters = synthetic_park_parameters()
    if total_kva is None:
        total_kva = parameters["benchmark_total_demand_kva"]["value"]
    rng = np.random.default_rng(seed)
    rows = [{"id": f"J{r}_{c}", "x_m": c * spacing_m, "y_m": r * spacing_m, "kind": "junction",
             "voltage_kv": 10, "spare_capacity_kva": 0, "demand_kva": 0} for r in range(n) for c in range(n)]
    nodes = pd.DataFrame(rows)
    plot_at = rng.choice(n * n, size=plots, replace=False)
    demand = rng.uniform(0.5, 1.5, size=plots)
    nodes.loc[plot_at, "kind"] = "customer"
    nodes.loc[plot_at, "demand_kva"] = np.round(demand / demand.sum() * total_kva)
    corridors = []
    for r in range(n):
        for c in range(n):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < n and c + dc < n:
                    corridors.append({"from_node": f"J{r}_{c}", "to_node": f"J{r + dr}_{c + dc}",
                                      "length_km": round(spacing_m / 1000 * rng.uniform(0.9, 1.1), 3),
                                      "cost_multiplier": 1.5 if rng.random() < 0.1 else 1.0})
    # bays on the west, south and east edges, from substations feeder_km outside the park
    entries = [(n // 4, 0, -1, 0), (3 * n // 4, 0, -1, 0), (0, n // 2, 0, -1), (n // 3, n - 1, 1, 0), (2 * n // 3, n - 1, 1, 0)]
    feeders = []
    for i, ((r, c, dx, dy), spare) in enumerate(zip(entries, parameters["feeder_spare_capacity_kva"]["value"])):
        feeders.append({"id": f"F{i + 1}", "x_m": c * spacing_m + dx * feeder_km * 1000, "y_m": r * spacing_m + dy * feeder_km * 1000,
                        "kind": "feeder_point", "voltage_kv": 10, "spare_capacity_kva": spare, "demand_kva": 0})
        corridors.append({"from_node": f"F{i + 1}", "to_node": f"J{r}_{c}",
                          "length_km": round(feeder_km * rng.uniform(0.8, 1.2), 3), "cost_multiplier": 1.0})
    nodes = pd.concat([pd.DataFrame(feeders), nodes], ignore_index=True)
    corridors = pd.DataFrame(corridors)
    corridors.insert(0, "id", [f"C{i + 1}" for i in range(len(corridors))])
    corridors["allowed_std_types"] = CABLES
    corridors["status"] = "candidate"
    return nodes, corridors


def park_tables(n: int, plots: int, total_kva: float, seed: int) -> dict[str, pd.DataFrame]:
    """The four files of a park folder: the grid, its plots as customers, and their applications."""
    nodes, corridors = park_grid(n, plots, total_kva, seed=seed)
    plot_nodes = nodes[nodes["kind"] == "customer"]
    ids = [f"{node}-s{seed}" for node in plot_nodes["id"]]
    customers = pd.DataFrame({"application_id": ids, "node_id": plot_nodes["id"].to_numpy()})
    template = pd.read_csv(APPLICATION_TEMPLATE, dtype=str, keep_default_na=False).iloc[[0] * len(ids)].reset_index(drop=True)
    template["application_id"] = ids
    template["capacity"] = plot_nodes["demand_kva"].to_numpy().round().astype(int).astype(str)
    template["capacity_unit"] = "kVA"
    return {"nodes.csv": nodes, "corridors.csv": corridors, "customers.csv": customers, "applications.csv": template}


def write_parks(out: Path, parks: int, seed: int, sizes: Sequence[int] = (4, 5, 6, 8, 10, 12)) -> list[Path]:
    """`parks` park folders (park-001, ...) of mixed sizes: the i-th an n x n grid, n = sizes[i % len(sizes)],
    with n + n // 2 plots sharing demand_per_plot_kva each (tariffs/grid/synthetic-park.yaml), each park from its own
    seed (seed + i)."""
    if parks < 1:
        raise InputError(f"--parks {parks}: allowed: a whole number >= 1")
    per_plot_kva = synthetic_park_parameters()["demand_per_plot_kva"]["value"]
    written = []
    for index in range(parks):
        n = sizes[index % len(sizes)]
        plots = n + n // 2
        folder = Path(out) / f"park-{index + 1:03d}"
        for name, table in park_tables(n, plots, per_plot_kva * plots, seed + index).items():
            files.write_csv(table, folder / name)
        written.append(folder)
    return written


# ------------------------------------------------------------------------------------------- one park

def optimise_park(folder: str | Path, ruleset_id: str, time_limit_s: float, mip_gap: float, ac_rounds: int = AC_ROUNDS) -> dict:
    """One park optimised and its customers quoted under the rule set: a RESULT_COLUMNS row.

    The optimiser's public steps as `costmodel optimize` takes them (grid.cli_network.optimize_network), without
    the map: with `ac_rounds` > 0, rounds of solve, AC check and tightening until the design passes its AC check
    (`radial.ac_feasible`; pandapower is preloaded with the optimiser, see PRELOADED); 0: the linear model's design,
    not AC-checked."""
    from costmodel.grid.components import design_to_components
    from costmodel.grid.network import load_customers, load_grid_limits, load_network, ruleset_catalogue
    from costmodel.grid.radial import prepare
    from costmodel.grid.radial.ac_feasible import optimised_design
    from costmodel.grid.status import stdout_to_stderr
    from costmodel.params import load_ruleset
    from costmodel.quote import quote_frame
    from costmodel.scenarios.portfolio import load_portfolio

    folder = Path(folder)
    portfolio = load_portfolio(folder / "applications.csv")
    if len(portfolio.rejected):
        first = portfolio.rejected.iloc[0]
        raise InputError(f"{folder / 'applications.csv'}: row {first['row']}: {first['reason']}")
    ruleset = load_ruleset(ruleset_id)
    when = portfolio.frame["application_date"].max().date()
    network = load_network(folder, ruleset_catalogue(ruleset_id))
    instance = prepare(network, load_customers(folder / "customers.csv", network), load_grid_limits(ruleset_id, when))
    with stdout_to_stderr():  # the solver's log never reaches stdout, which carries the row
        # one HiGHS thread: a park is one single-threaded process, and parks in parallel are the parallelism
        # (HiGHS' own second thread costs two parks side by side 8-10 %, docs/performance.md)
        design, _ = optimised_design(instance, network, time_limit_s, mip_gap, ac_rounds, threads=PARK_SOLVER_THREADS)
    report = design.report
    components = design_to_components(design)
    totals = {"customer_cny": None, "grid_cny": None, "total_cny": None}
    if len(components):
        quoted = quote_frame(portfolio.frame, ruleset, components=components).totals
        totals = {key: float(quoted[key].sum()) for key in totals}
    return {"park": folder.name, "status": report["status"], "objective_cny": report.get("objective_cny"),
            "bound_cny": report.get("bound_cny"), "gap": report.get("gap"), "seconds": report.get("seconds"),
            "customers": len(portfolio.frame), **totals, "ac_status": report.get("ac_status", "not_checked"),
            "ac_rounds": report.get("ac_rounds", 0), "linear_objective_cny": report.get("linear_objective_cny"),
            "diagnosis": "; ".join(report.get("diagnosis") or [])}


def _failed(folder: Path, status: str, seconds: float, diagnosis: str) -> dict:
    return {**dict.fromkeys(RESULT_COLUMNS), "park": folder.name, "status": status, "seconds": round(seconds, 3),
            "diagnosis": diagnosis}


# A park's process is forked from a server that has imported the optimiser once (multiprocessing's forkserver, a
# process of its own without threads, so a fork is safe): a park starts in milliseconds, not the seconds that Python,
# Pyomo and HiGHS take to import, which on small parks was half the batch's time.
PRELOADED = ["costmodel.scenarios.parks", "costmodel.grid.radial", "costmodel.grid.radial.ac_feasible", "costmodel.grid.validate",
             "pyomo.environ", "highspy", "pandapower"]


def _park_process(connection, folder: str, ruleset_id: str, time_limit_s: float, mip_gap: float, ac_rounds: int) -> None:
    """In the park's own process: its row, or the error's message, sent back through `connection`."""
    from costmodel.grid.status import stdout_to_stderr

    try:
        with stdout_to_stderr():  # HiGHS writes to file descriptor 1: the batch's output is the parent's
            row = optimise_park(folder, ruleset_id, time_limit_s, mip_gap, ac_rounds)
    except CostmodelError as error:
        row = _failed(Path(folder), "error", 0.0, str(error))
    except Exception as error:  # noqa: BLE001 - any fault is this park's row, never the batch's end
        row = _failed(Path(folder), "error", 0.0, f"{type(error).__name__}: {error}")
    connection.send(json.loads(json.dumps(row, default=float)))
    connection.close()


def optimise_park_in_process(folder: str, ruleset_id: str, time_limit_s: float, mip_gap: float, grace_s: float,
                             ac_rounds: int = AC_ROUNDS) -> dict:
    """optimise_park in a process of its own, killed after time_limit_s + grace_s: a RESULT_COLUMNS row whatever
    happens (status `killed` past the limit, `error` with the message when the park fails or its process dies)."""
    import multiprocessing

    folder = Path(folder)
    started = time.perf_counter()
    if multiprocessing.current_process().daemon:  # a worker that may not have children of its own: a new interpreter
        return _park_in_interpreter(folder, ruleset_id, time_limit_s, mip_gap, ac_rounds, grace_s, started)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_park_process, args=(send, str(folder), ruleset_id, time_limit_s, mip_gap, ac_rounds), daemon=True)
    process.start()
    send.close()
    row = None
    if receive.poll(time_limit_s + grace_s):
        try:
            row = receive.recv()
        except EOFError:  # the process died before it could answer
            pass
    process.join(timeout=grace_s if row is not None else 0)
    if process.is_alive():
        process.kill()
        process.join()
    receive.close()
    if row is not None:
        return row
    if process.exitcode not in (0, None) and time.perf_counter() - started < time_limit_s + grace_s:
        return _failed(folder, "error", time.perf_counter() - started, f"the park's process ended with exit code {process.exitcode}")
    return _failed(folder, "killed", time.perf_counter() - started,
                   f"still running {time_limit_s + grace_s:g} s after it started (time limit {time_limit_s:g} s + grace {grace_s:g} s)")


def _park_in_interpreter(folder: Path, ruleset_id: str, time_limit_s: float, mip_gap: float, ac_rounds: int, grace_s: float,
                         started: float) -> dict:
    """The park in a new Python (`python -m costmodel.scenarios.parks`), for a daemonic Dask worker (an existing
    cluster's, unless its workers are started with DASK_DISTRIBUTED__WORKER__DAEMON=False)."""
    import subprocess

    command = [sys.executable, "-m", "costmodel.scenarios.parks", str(folder), ruleset_id, repr(time_limit_s), repr(mip_gap),
               str(ac_rounds)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=time_limit_s + grace_s)
    except subprocess.TimeoutExpired:
        return _failed(folder, "killed", time.perf_counter() - started,
                       f"still running {time_limit_s + grace_s:g} s after it started (time limit {time_limit_s:g} s + grace {grace_s:g} s)")
    if done.returncode != 0 or not done.stdout.strip():
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return _failed(folder, "error", time.perf_counter() - started, lines[-1] if lines else f"exit code {done.returncode}")
    return json.loads(done.stdout.splitlines()[-1])


def park_folders(folder: Path) -> list[Path]:
    """Every park folder under `folder` (at any depth: a folder holding the four files), in path order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; optimize-many takes a folder of park folders ({', '.join(PARK_FILES)})")
    parks = sorted({path.parent for path in folder.rglob("nodes.csv") if all((path.parent / name).is_file() for name in PARK_FILES)})
    if not parks:
        raise InputError(f"{folder}: no park folder found; each park is a folder holding {', '.join(PARK_FILES)}")
    return parks


def optimise_parks(parks: Sequence[Path], ruleset_id: str, time_limit_s: float, mip_gap: float, grace_s: float,
                   client=None, progress: Callable[[int, int, dict], None] | None = None, ac_rounds: int = AC_ROUNDS) -> pd.DataFrame:
    """Every park in its own process: one after the other, or as Dask tasks through `client`. One row per park,
    in the order of `parks`."""
    calls = [(str(park), ruleset_id, time_limit_s, mip_gap, grace_s, ac_rounds) for park in parks]
    if client is None:
        rows: Iterator[dict] = (optimise_park_in_process(*call) for call in calls)
    else:
        import uuid

        from costmodel.scenarios.cluster import run_tasks

        run = uuid.uuid4().hex[:12]
        rows = run_tasks(client, optimise_park_in_process, calls, [f"costmodel-park-{i}-{run}" for i in range(len(calls))])
    found = []
    for row in rows:
        found.append(row)
        if progress:
            progress(len(found), len(calls), row)
    order = {park.name: i for i, park in enumerate(parks)}
    table = pd.DataFrame(found, columns=RESULT_COLUMNS).astype({"customers": "Int64", "ac_rounds": "Int64"})  # unknown where a park failed
    return table.iloc[np.argsort(table["park"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)


def main(argv: list[str]) -> None:
    """`python -m costmodel.scenarios.parks FOLDER RULESET TIME_LIMIT GAP AC_ROUNDS`: one park, its row as JSON on stdout."""
    folder, ruleset_id, time_limit_s, mip_gap, ac_rounds = argv
    try:
        row = optimise_park(folder, ruleset_id, float(time_limit_s), float(mip_gap), int(ac_rounds))
    except CostmodelError as error:
        row = _failed(Path(folder), "error", 0.0, str(error))
    print(json.dumps(row, default=float))


if __name__ == "__main__":
    main(sys.argv[1:])
