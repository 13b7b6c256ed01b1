"""Issue 22, the optimiser: bad network CSVs and .gr headers give a message naming the file, the line, the
column and the value; 'optimal' only within the default tolerance, else 'feasible, gap X %'; `--json` is
pure JSON on stdout in every status."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from costmodel.errors import InputError
from costmodel.grid.network import load_customers, load_network
from costmodel.grid.status import NETWORK_GAP, STEINER_GAP, status_of, summary
from costmodel.grid.stp import MAX_EDGES, MAX_NODES, MAX_WEIGHT, parse_gr

from .test_inputs import REPO, cli, refused
from tests_support import PACE, require_shared

PARK = REPO / "examples" / "park"


@pytest.fixture
def park(tmp_path) -> Path:
    folder = tmp_path / "park"
    shutil.copytree(PARK, folder)
    return folder


def set_cell(file: Path, row: int, column: str, value: str) -> None:
    """Write `value` into `column` of data row `row` (1 = the line after the header)."""
    lines = file.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def network_error(folder: Path) -> str:
    with pytest.raises(InputError) as error:
        load_customers(folder / "customers.csv", load_network(folder))
    return str(error.value)


# ----------------------------------------------------------------------------------- network CSVs

@pytest.mark.parametrize(("file", "row", "column", "value", "expected"), [
    ("corridors.csv", 1, "length_km", "inf", "corridors.csv line 2 (id 'L001'), column length_km: value 'inf' is not finite; allowed: a finite number"),
    ("corridors.csv", 1, "length_km", "-Infinity", "column length_km: value '-Infinity' is not finite"),
    ("corridors.csv", 1, "length_km", "nan", "corridors.csv line 2 (id 'L001'), column length_km: value 'nan' is not a number; allowed: a finite number"),
    ("corridors.csv", 1, "length_km", "-0.5", "column length_km: value '-0.5' is not allowed; must be >= 0"),
    ("corridors.csv", 1, "cost_multiplier", "-2", "column cost_multiplier: value '-2' is not allowed; must be > 0"),
    ("corridors.csv", 1, "cost_multiplier", "inf", "column cost_multiplier: value 'inf' is not finite"),
    ("corridors.csv", 1, "from_node", "NOWHERE", "corridors.csv line 2 (id 'L001'), column from_node: node 'NOWHERE' is not in nodes.csv"),
    ("nodes.csv", 1, "x_m", "inf", "nodes.csv line 2 (id 'S00'), column x_m: value 'inf' is not finite"),
    ("nodes.csv", 1, "spare_capacity_kva", "1e400", "column spare_capacity_kva: value '1e400' is not a number; allowed: a finite number"),
    ("nodes.csv", 42, "demand_kva", "-10", "nodes.csv line 43 (id 'Q1'), column demand_kva: value '-10' is not allowed; must be >= 0"),
    ("customers.csv", 1, "demand_kva", "-5", "customers.csv line 2, column demand_kva: value '-5' is not allowed; must be >= 0"),
    ("customers.csv", 1, "demand_kva", "inf", "customers.csv line 2, column demand_kva: value 'inf' is not finite"),
    ("customers.csv", 1, "node_id", "NOWHERE", "customers.csv line 2, column node_id: node 'NOWHERE' is not in nodes.csv"),
], ids=["length-inf", "length-minus-inf", "length-nan", "length-negative", "multiplier-negative", "multiplier-inf",
        "corridor-unknown-node", "x-inf", "spare-overflow", "node-demand-negative", "customer-demand-negative",
        "customer-demand-inf", "customer-unknown-node"])
def test_bad_cell(park, file, row, column, value, expected):
    set_cell(park / file, row, column, value)
    message = network_error(park)
    assert str(park / file) in message and expected in message


@pytest.mark.parametrize(("file", "expected"), [
    ("nodes.csv", "column id: duplicate id 'S00'; ids must be unique"),
    ("corridors.csv", "column id: duplicate id 'L001'; ids must be unique"),
    ("customers.csv", "column node_id: duplicate id 'P01'; ids must be unique"),
], ids=["nodes", "corridors", "customers"])
def test_duplicated_id(park, file, expected):
    path = park / file
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    message = network_error(park)
    assert str(path) in message and f"line {len(lines) + 1}" in message and expected in message


def test_csv_that_is_a_directory(park):
    (park / "nodes.csv").unlink()
    (park / "nodes.csv").mkdir()
    assert f"{park / 'nodes.csv'}: is a directory; expected a CSV file" in network_error(park)


def test_negative_demand_through_the_cli(park):
    set_cell(park / "customers.csv", 1, "demand_kva", "-5")
    refused(cli("optimize", str(park), "--customers", str(park / "customers.csv"), "--applications",
                str(park / "applications.csv"), "--json"),
            f"{park / 'customers.csv'} line 2, column demand_kva: value '-5' is not allowed; must be >= 0")


def test_infinite_length_through_the_cli(park):
    set_cell(park / "corridors.csv", 3, "length_km", "inf")
    result = cli("optimize", str(park), "--customers", str(park / "customers.csv"), "--applications",
                 str(park / "applications.csv"), "--json")
    refused(result, f"{park / 'corridors.csv'} line 4 (id 'L003'), column length_km: value 'inf' is not finite")
    assert result.stdout == ""


# --------------------------------------------------------------------------------- .gr / STP headers

def gr(nodes: str = "3", edges: str = "2", terminals: str = "2", weight: str = "5") -> str:
    return (f"SECTION Graph\nNodes {nodes}\nEdges {edges}\nE 1 2 {weight}\nE 2 3 7\nEND\n\n"
            f"SECTION Terminals\nTerminals {terminals}\nT 1\nT 3\nEND\n\nEOF\n")


@pytest.mark.parametrize(("text", "expected"), [
    (gr(nodes=str(10 ** 12)), f"x.gr line 2: Nodes 1,000,000,000,000 is out of range; allowed: 1 to {MAX_NODES:,}"),
    (gr(nodes="0"), f"x.gr line 2: Nodes 0 is out of range; allowed: 1 to {MAX_NODES:,}"),
    (gr(edges=str(10 ** 15)), f"x.gr line 3: Edges 1,000,000,000,000,000 is out of range; allowed: 0 to {MAX_EDGES:,}"),
    (gr(terminals=str(10 ** 9)), f"x.gr line 9: Terminals 1,000,000,000 is out of range; allowed: 1 to {MAX_NODES:,}"),
    (gr(weight=str(10 ** 30)), f"x.gr line 4: edge weight 1,000,000,000,000,000,000,000,000,000,000 is out of range; allowed: 0 to {MAX_WEIGHT:,}"),
], ids=["nodes-1e12", "nodes-0", "edges-1e15", "terminals-1e9", "weight-1e30"])
def test_absurd_header(text, expected):
    with pytest.raises(InputError, match=re.escape(expected)):
        parse_gr(text, "x.gr")


def test_absurd_header_through_the_cli(tmp_path):
    path = tmp_path / "huge.gr"
    path.write_text(gr(nodes=str(10 ** 12)))
    result = cli("optimize", str(path), "--json", timeout=60)
    refused(result, f"{path} line 2: Nodes 1,000,000,000,000 is out of range; allowed: 1 to {MAX_NODES:,}")
    assert result.stdout == ""
    refused(cli("network", "import-gr", str(path), "--out", str(tmp_path / "out"), timeout=60), "Nodes 1,000,000,000,000 is out of range")
    assert not (tmp_path / "out").exists()


def test_gr_that_is_a_directory(tmp_path):
    folder = tmp_path / "dir.gr"
    folder.mkdir()
    refused(cli("optimize", str(folder), "--json"), f"{folder}: is a directory; expected a Steiner instance (.gr)")


# ----------------------------------------------------------------------------------------- statuses

def test_optimal_only_within_the_default_tolerance():
    assert status_of(0.0, NETWORK_GAP) == "optimal"
    assert status_of(NETWORK_GAP, NETWORK_GAP) == "optimal"
    assert status_of(NETWORK_GAP * 1.01, NETWORK_GAP) == "feasible"
    assert status_of(None, NETWORK_GAP) == "feasible"
    assert status_of(1e-6, STEINER_GAP) == "feasible"
    assert summary("feasible", 0.1234) == "feasible, gap 12.34 %"
    assert summary("feasible", None).startswith("feasible, gap unknown")
    assert summary("optimal", 0.0) == summary("infeasible", None).replace("infeasible", "optimal")


def optimize_json(*extra: str, folder: Path = PARK) -> dict:
    result = cli("optimize", str(folder), "--customers", str(folder / "customers.csv"), "--applications",
                 str(folder / "applications.csv"), "--json", *extra, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().startswith("{"), result.stdout[:300]
    return json.loads(result.stdout)  # the whole of stdout: nothing before or after the JSON


def test_a_loose_gap_is_reported_feasible_with_its_gap():
    report = optimize_json("--gap", "0.9")["report"]
    assert report["status"] == "feasible" and report["stopped"] == "gap_limit"
    assert report["gap"] > NETWORK_GAP and report["summary"] == f"feasible, gap {report['gap'] * 100:.2f} %"


def test_out_of_time_is_feasible_and_says_the_gap_is_unknown():
    report = optimize_json("--time-limit", "0.1")["report"]
    assert (report["status"], report["stopped"]) == ("feasible", "time_limit")
    assert report["summary"] == "feasible, gap unknown (no bound proven)"


def test_the_text_output_says_feasible_and_the_gap():
    result = cli("optimize", str(PARK), "--customers", str(PARK / "customers.csv"), "--applications",
                 str(PARK / "applications.csv"), "--gap", "0.9", timeout=300)
    assert result.returncode == 0, result.stderr
    # the report is a table: its status row says feasible and the gap, and the gap row gives it to 0.01 %
    assert re.search(r"park: cheapest extension\s+status\s+feasible, gap \d+\.\d+ %", result.stdout), result.stdout[:300]
    assert re.search(r"\n\s*gap\s+\d+\.\d\d %", result.stdout), result.stdout[:600]


def test_infeasible_json_is_pure_json(park):
    set_cell(park / "customers.csv", 1, "demand_kva", "900000")
    report = optimize_json(folder=park)["report"]
    assert report["status"] == "infeasible" and report["summary"] == "infeasible"
    assert any("park-p01" in text for text in report["diagnosis"])


def test_highs_banner_never_reaches_stdout():
    """Constructing highspy.Highs prints HiGHS' banner on file descriptor 1, past Python's sys.stdout."""
    script = ("import highspy\nfrom costmodel.grid.status import stdout_to_stderr\n"
              "with stdout_to_stderr():\n    highspy.Highs()\n    print('inside')\nprint('after')\n")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.stdout == "after\n", result.stdout
    assert "inside" in result.stderr


def test_gr_json_is_pure_json():
    require_shared(PACE / "instance056.gr")
    result = cli("optimize", str(PACE / "instance056.gr"), "--json", "--time-limit", "60", timeout=300)
    assert result.returncode == 0, result.stderr
    solved = json.loads(result.stdout)
    assert (solved["status"], solved["summary"], solved["gap"]) == ("optimal", "optimal", 0)


@pytest.mark.parametrize(("value", "expected"), [
    ("-420000", "row 2, column unit_cost_cny: -420000; allowed: a cost >= 0"),
    ("inf", "row 2, column unit_cost_cny: inf is not a number; allowed: a finite number"),
], ids=["negative", "infinite"])
def test_catalogue_cost(tariffs_copy, value, expected):
    """The optimiser prices corridors from the unit-cost catalogue: a negative or infinite cost is refused there."""
    from costmodel.costs.catalog import load_catalog

    path = next((tariffs_copy / "catalogs" / "cn-indicative-2019").glob("*.csv"))
    set_cell(path, 1, "unit_cost_cny", value)
    with pytest.raises(InputError) as error:
        load_catalog("cn-indicative-2019")
    assert str(path) in str(error.value) and expected in str(error.value)


def test_an_optimal_design_has_no_stopping_reason():
    report = optimize_json()["report"]
    assert (report["status"], report["summary"], report["stopped"]) == ("optimal", "optimal", "")
    assert report["gap"] <= NETWORK_GAP
