"""optimize-many: every park in its own process, one row each, a failing park never stopping the batch; on a
LocalCluster of 2 single-threaded workers (one per module) the same statuses and objectives as serial runs."""

from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
import pytest

from costmodel.grid.cli_network import optimize_network
from costmodel.scenarios.parks import RESULT_COLUMNS, optimise_parks, park_folders, park_grid, write_parks
from tests.reliability.files_support import run_cli
from tests_support import require_module

RULESET = "shandong-2019"
GAP = 0.01
INFEASIBLE_SPARE_KVA = "100"  # every feeder bay of the infeasible park: far below any plot's demand


def _starve(park) -> None:
    """Every feeder bay of the park keeps 100 kVA of spare capacity: no plot (each several hundred kVA) can be fed."""
    path = park / "nodes.csv"
    with path.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        if row["kind"] == "feeder_point":
            row["spare_capacity_kva"] = INFEASIBLE_SPARE_KVA
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def parks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parks")
    written = write_parks(folder, 6, seed=5, sizes=(3,))
    _starve(written[3])
    return folder


@pytest.fixture(scope="module")
def cluster():
    distributed = require_module("distributed", "distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            distributed.Client(local, set_as_default=False) as client:
        yield client


def test_parks_on_a_cluster_match_serial_runs_and_the_infeasible_one_says_why(parks, cluster):
    table = optimise_parks(park_folders(parks), RULESET, 30.0, GAP, 60.0, client=cluster)
    assert list(table.columns) == RESULT_COLUMNS and table["park"].tolist() == [f"park-{i:03d}" for i in range(1, 7)]
    for row in table.itertuples(index=False):
        serial = optimize_network(parks / row.park, parks / row.park / "customers.csv", RULESET, 30.0, GAP,
                                  when=dt.date(2019, 10, 8))["report"]  # the applications' date (examples/park)
        assert row.status == serial["status"], row.park
        assert (pd.isna(row.objective_cny) and serial.get("objective_cny") is None) or row.objective_cny == serial["objective_cny"]
        assert row.ac_status == serial.get("ac_status") and row.ac_rounds == serial.get("ac_rounds"), row.park
    starved = table.set_index("park").loc["park-004"]
    assert starved["status"] == "infeasible" and pd.isna(starved["objective_cny"])
    assert "cannot be supplied" in starved["diagnosis"] and f"({INFEASIBLE_SPARE_KVA} kVA)" in starved["diagnosis"]
    others = table[table["park"] != "park-004"]
    assert set(others["status"]) <= {"optimal", "feasible"} and others["objective_cny"].notna().all()
    assert set(others["ac_status"]) == {"passed"} and starved["ac_status"] == "not_checked"
    # the extension is quoted: who pays adds up to the total of its lines
    assert (others["customer_cny"] + others["grid_cny"] == others["total_cny"]).all() and (others["total_cny"] > 0).all()


def test_a_failing_or_killed_park_is_a_row_and_the_batch_goes_on(tmp_path):
    written = write_parks(tmp_path / "parks", 2, seed=5, sizes=(3,))
    (written[1] / "corridors.csv").write_text("not a corridor table\n", encoding="utf-8")
    result = run_cli("optimize-many", tmp_path / "parks", "--time-limit", "30", "--gap", str(GAP), "--out", tmp_path / "parks.csv")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "parks.csv")
    assert table["status"].tolist() == ["optimal", "error"]
    assert "corridors.csv" in table["diagnosis"].iloc[1] and "missing column" in table["diagnosis"].iloc[1]
    killed = optimise_parks(written[:1], RULESET, 0.1, GAP, 0.0)  # no process starts, loads and solves in 0.1 s
    assert killed["status"].tolist() == ["killed"] and "time limit 0.1 s + grace 0 s" in killed["diagnosis"].iloc[0]


def test_generated_parks_have_mixed_sizes_and_are_reproducible(tmp_path):
    first = write_parks(tmp_path / "a", 3, seed=9, sizes=(3, 5))
    again = write_parks(tmp_path / "b", 3, seed=9, sizes=(3, 5))
    junctions = [int((pd.read_csv(park / "nodes.csv")["kind"] == "junction").sum()) for park in first]
    plots = [len(pd.read_csv(park / "customers.csv")) for park in first]
    assert plots == [4, 7, 4]  # n + n // 2 plots of an n x n grid
    assert junctions == [9 - 4, 25 - 7, 9 - 4]
    for a, b in zip(first, again):
        assert all((a / name).read_bytes() == (b / name).read_bytes() for name in ("nodes.csv", "corridors.csv", "applications.csv"))
    applications = pd.read_csv(first[1] / "applications.csv")
    nodes = pd.read_csv(first[1] / "nodes.csv").set_index("id")
    customers = pd.read_csv(first[1] / "customers.csv")
    assert applications["capacity"].tolist() == nodes.loc[customers["node_id"], "demand_kva"].round().astype(int).tolist()


def test_the_parks_loads_and_bays_come_from_their_data_file(tariffs_copy):
    data = tariffs_copy / "grid" / "synthetic-park.yaml"
    text = data.read_text(encoding="utf-8").replace("[8000, 7500, 7500, 7000, 6500]", "[900, 800, 700, 600, 500]")
    data.write_text(text.replace("{2019-01-01: 32000}", "{2019-01-01: 10000}"), encoding="utf-8")
    nodes, _ = park_grid(6, plots=4)
    assert nodes.loc[nodes["kind"] == "feeder_point", "spare_capacity_kva"].tolist() == [900, 800, 700, 600, 500]
    assert nodes["demand_kva"].sum() == pytest.approx(10000, abs=2)   # four plots, each rounded to the kVA
