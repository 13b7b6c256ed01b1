"""`costmodel optimize`: the optimiser's extension quoted under the rule set's funding rules."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from costmodel.params import load_ruleset
from costmodel.quote import quote_frame
from costmodel.scenarios.portfolio import load_portfolio
from tests_support import PACE, require_shared

PARK = Path(__file__).resolve().parents[1] / "examples" / "park"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from costmodel.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def park_quotes():
    result = run("optimize", str(PARK), "--customers", str(PARK / "customers.csv"), "--applications",
                 str(PARK / "applications.csv"), "--ruleset", "shandong-2019", "--json")
    assert result.returncode == 0, result.stderr
    shandong = json.loads(result.stdout)
    # The same design under the pre-reform rules, through the library (the design does not depend on them).
    design = [line for line in shandong["quote"]["lines"]]
    components = pd.DataFrame(design)[["application_id", "component", "std_type", "zone", "quantity", "unit", "design_rule"]]
    batch = quote_frame(load_portfolio(PARK / "applications.csv").frame, load_ruleset("national-1996"), components=components)
    before = {"report": shandong["report"], "quote": {"totals": batch.summary().to_dict("records"),
                                                      "lines": batch.lines.to_dict("records")}}
    return {"shandong-2019": shandong, "national-1996": before}


def test_the_whole_extension_is_funded_by_someone(park_quotes):
    for quote in park_quotes.values():
        totals = quote["quote"]["totals"]
        paid = sum(row["customer_cny"] + row["grid_cny"] for row in totals)
        assert paid == pytest.approx(quote["report"]["objective_cny"], rel=1e-9)


def test_the_park_rule_moves_the_extension_from_the_plots_to_the_grid(park_quotes):
    # Every plot is in a municipal park: under Shandong 2019 the grid invests to the red line (and the
    # two small low-voltage plots get zero investment); before the reform each plot funds its own
    # extension from the point of connection.
    shandong = park_quotes["shandong-2019"]["quote"]["totals"]
    assert {row["boundary"] for row in shandong} == {"red_line", "meter"}
    assert sum(row["customer_cny"] for row in shandong) == 0
    before = park_quotes["national-1996"]["quote"]["totals"]
    assert {row["boundary"] for row in before} == {"point_of_connection"}
    assert sum(row["grid_cny"] for row in before) == 0
    # the low-voltage plot park-q3 gets a new 160 kVA transformer at site X1, funded like the cables
    (new,) = park_quotes["shandong-2019"]["transformers"]
    assert (new["node_id"], new["std_type"], new["flow_kva"]) == ("X1", "S13-M-160/10", 150)
    item = [line for line in park_quotes["national-1996"]["quote"]["lines"] if line["std_type"] == "S13-M-160/10"]
    assert [(line["application_id"], line["zone"], line["amount_cny"], line["funded_by"]) for line in item] == \
        [("park-q3", "extension", 85_000, "customer")]
    assert all(line["zone"] in ("extension", "upstream") for line in park_quotes["national-1996"]["quote"]["lines"])


def test_a_steiner_instance_solves_to_its_known_optimum():
    require_shared(PACE / "instance081.gr")
    result = run("optimize", str(PACE / "instance081.gr"), "--json")
    assert result.returncode == 0, result.stderr
    solved = json.loads(result.stdout)
    assert (solved["status"], solved["objective"]) == ("optimal", 1300798)  # optima.csv


def test_a_network_folder_needs_customers(tmp_path):
    (tmp_path / "nodes.csv").write_text((PARK / "nodes.csv").read_text())
    result = run("optimize", str(tmp_path))
    assert result.returncode == 2 and "needs --customers" in result.stderr and "customers.csv does not exist" in result.stderr


def test_an_imported_pandapower_net_is_optimised_from_the_cli_without_applications(tmp_path):
    (tmp_path / "new.csv").write_text("application_id,lon,lat,demand_kva\nmill,7.80,48.42,800\nbakery,7.85,48.45,250\n")
    imported = run("network", "import-pandapower", "mv_oberrhein", "--out", str(tmp_path / "net"), "--customers",
                   str(tmp_path / "new.csv"))
    assert imported.returncode == 0, imported.stderr
    assert "(2 feeder points, 2 customers)" in imported.stdout and "EPSG:32632" in imported.stdout
    assert (tmp_path / "net" / "pandapower.json").is_file() and "pandapower.json" in imported.stdout
    result = run("optimize", str(tmp_path / "net"), "--time-limit", "30", "--map", str(tmp_path / "map.svg"),
                 "--design-out", str(tmp_path / "design.json"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # the check ran on the whole net: mv_oberrhein's 177 buses at 20 kV and the 2 new ones, its 147 loads
    assert "AC check on the whole net (179 buses, 147 existing loads)" in out
    assert f"design as a pandapower net: {tmp_path / 'design.json'}" in out.replace("\n", "")
    import pandapower as pp

    assert len(pp.from_json(str(tmp_path / "design.json")).load) == 147 + 2
    again = run("optimize", str(tmp_path / "net"), "--time-limit", "30", "--design-out", str(tmp_path / "design.json"))
    assert again.returncode == 1 and "the output file exists; give --force" in again.stderr
    # a table a planner reads: status, cost in CNY with thousands separators, gap in %, the AC check; no raw dict
    assert "status" in out and "optimal" in out and "AC worst voltage" in out and "{" not in out
    cost = next(line for line in out.splitlines() if line.strip().startswith("cost"))
    assert cost.strip().endswith("CNY") and "," in cost
    assert "not quoted: give --applications" in out
    svg = (tmp_path / "map.svg").read_text()
    assert "EPSG:32632" in svg and "x10^4" not in svg and "existing feeder point" in svg


def test_a_steiner_instance_prints_a_readable_summary():
    require_shared(PACE / "instance081.gr")
    result = run("optimize", str(PACE / "instance081.gr"))
    assert result.returncode == 0, result.stderr
    assert "1,300,798" in result.stdout and "{" not in result.stdout      # optima.csv: 1300798


def test_network_import_gr_writes_a_network_directory(tmp_path):
    require_shared(PACE / "instance056.gr")
    result = run("network", "import-gr", str(PACE / "instance056.gr"), "--out", str(tmp_path / "net"))
    assert result.returncode == 0, result.stderr
    assert "212 nodes, 381 corridors (YJV22-8.7/15-3x70), 10 customers" in result.stdout   # optima.csv sizes
    corridors = pd.read_csv(tmp_path / "net" / "corridors.csv")
    assert len(corridors) == 381 and (corridors["status"] == "candidate").all()
    assert len(pd.read_csv(tmp_path / "net" / "customers.csv")) == 10               # 11 terminals, one the source


def test_the_12_by_12_park_passes_its_own_ac_check_through_the_cli(tmp_path):
    from costmodel.scenarios.parks import park_grid

    # the park of benchmarks/park_grid.py: its linear optimum fills 3x120 cables to 99 %, 101.8 % in AC
    nodes, corridors = park_grid(12)
    nodes.to_csv(tmp_path / "nodes.csv", index=False)
    corridors.to_csv(tmp_path / "corridors.csv", index=False)
    plots = nodes[nodes["kind"] == "customer"]
    pd.DataFrame({"application_id": plots["id"], "node_id": plots["id"]}).to_csv(tmp_path / "customers.csv", index=False)
    result = run("optimize", str(tmp_path), "--ruleset", "national-1996", "--time-limit", "40", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    report, rounds = out["report"], out["report"]["ac_rounds"]
    assert out["violations"] == [] and out["validation"]["violations"] == 0
    assert out["validation"]["max_loading_pct_ac"] <= 100 and out["validation"]["worst_voltage_pu_ac"] >= 0.93
    assert report["ac_status"] == "passed" and report["ac_summary"] == f"AC check passed in round {rounds}"
    first = report["ac_log"][0]
    assert first["ac_violations"] > 0 and first["max_loading_pct_ac"] > 100      # the linear optimum fails its AC check
    assert report["objective_cny"] == pytest.approx(report["linear_objective_cny"] + report["feasibility_cost_cny"])
    assert report["feasibility_cost_cny"] > 0


def test_a_net_whose_own_power_flow_diverges_is_refused_by_name(tmp_path):
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.simple_mv_open_ring_net()
    net.load["p_mw"] *= 200      # 200 x its loads: pandapower's Newton-Raphson finds no solution
    pp.to_json(net, str(tmp_path / "heavy.json"))
    result = run("network", "import-pandapower", str(tmp_path / "heavy.json"), "--out", str(tmp_path / "net"))
    assert result.returncode == 1
    assert "the AC power flow of the imported net itself" in result.stderr and "did not converge (7 buses" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "net").exists()
