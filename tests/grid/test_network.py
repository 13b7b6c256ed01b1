"""Network CSV loading: the shipped example loads; bad rows are named with file, line, column, value."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from costmodel.errors import InputError
from costmodel.grid.network import load_customers, load_grid_limits, load_network, network_from_frames

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "park"


def test_example_loads_with_conductor_options():
    network = load_network(EXAMPLE)
    assert network.nodes.loc["F1", "kind"] == "feeder_point"
    assert network.nodes.loc["F1", "spare_capacity_kva"] == 5000
    # existing L059 (F1-S20): installed 3x240 at no cost, 3x400 as a reinforcement at full cost
    options = network.options[network.options["corridor_id"] == "L059"].set_index("std_type")
    assert options.loc["YJV22-8.7/15-3x240", "cost_cny"] == 0
    assert options.loc["YJV22-8.7/15-3x400", "cost_cny"] == pytest.approx(0.62 * 860_000)
    # 3x240: sqrt(3) * 10 kV * 430 A
    assert options.loc["YJV22-8.7/15-3x240", "capacity_kva"] == pytest.approx(3 ** 0.5 * 10 * 430)
    customers = load_customers(EXAMPLE / "customers.csv", network)
    assert len(customers) == 15
    assert customers.set_index("node_id").loc["P06", "demand_kva"] == 2000   # from nodes.csv


def test_empty_allowed_types_mean_every_cable_of_the_voltage_class():
    network = load_network(EXAMPLE)
    lv = network.options[network.options["corridor_id"] == "L063"]       # LV1-Q1 at 0.4 kV, empty list
    assert set(lv["std_type"]) == {"YJV22-0.6/1-4x120", "YJV22-0.6/1-4x240"}


def test_grid_limits_of_the_rule_set():
    limits = load_grid_limits("national-1996")
    assert limits.voltage_deviation_limit_pct == 7
    assert limits.power_factor == 0.9
    assert "GB/T 12325-2008" in limits.references["grid.voltage_deviation_limit"]
    with pytest.raises(InputError, match="unknown rule set 'nowhere'"):
        load_grid_limits("nowhere")


def broken(tmp_path, file, edit):
    folder = tmp_path / "net"
    shutil.copytree(EXAMPLE, folder)
    frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
    edit(frame)
    frame.to_csv(folder / file, index=False)
    return folder


@pytest.mark.parametrize("file, edit, message", [
    ("nodes.csv", lambda f: f.loc.__setitem__((3, "id"), "S00"), r"nodes.csv line 5 \(id 'S00'\), column id: duplicate id 'S00'; ids must be unique"),
    ("nodes.csv", lambda f: f.loc.__setitem__((0, "kind"), "junktion"),
     r"nodes.csv line 2 \(id 'S00'\), column kind: value 'junktion' is not allowed; allowed: substation, feeder_point"),
    ("nodes.csv", lambda f: f.loc.__setitem__((0, "spare_capacity_kva"), "300"), r"line 2 \(id 'S00'\), column spare_capacity_kva.*only substation"),
    ("nodes.csv", lambda f: f.loc.__setitem__((1, "x_m"), "east"), r"line 3 \(id 'S01'\), column x_m: value 'east' is not a number"),
    ("corridors.csv", lambda f: f.loc.__setitem__((2, "to_node"), "S99"), r"corridors.csv line 4 \(id 'L003'\), column to_node: node 'S99' is not in nodes.csv"),
    ("corridors.csv", lambda f: f.loc.__setitem__((0, "length_km"), "-0.2"), r"line 2 \(id 'L001'\), column length_km: value '-0.2' is not allowed; must be >= 0"),
    ("corridors.csv", lambda f: f.loc.__setitem__((0, "allowed_std_types"), "YJV22-8.7/15-3x95"),
     r"line 2 \(id 'L001'\), column allowed_std_types: std_type 'YJV22-8.7/15-3x95' is not a conductor of the catalogue; allowed: "),
    ("corridors.csv", lambda f: f.loc.__setitem__((0, "status"), "planned"), r"column status: value 'planned' is not allowed; allowed: existing, candidate"),
    ("corridors.csv", lambda f: f.loc.__setitem__((0, "to_node"), "Q1"), r"line 2 \(id 'L001'\), column to_node: joins nodes at 10.0 kV and 0.4 kV"),
    ("corridors.csv", lambda f: f.drop(columns="status", inplace=True), r"corridors.csv: missing column\(s\) status"),
])
def test_bad_network_rows_are_named(tmp_path, file, edit, message):
    folder = broken(tmp_path, file, edit)
    with pytest.raises(InputError, match=message):
        load_network(folder)


def test_bad_customer_rows_are_named(tmp_path):
    network = load_network(EXAMPLE)
    file = tmp_path / "customers.csv"
    file.write_text("application_id,node_id,demand_kva\na,P01,\nb,S00,\n")
    with pytest.raises(InputError, match=r"customers.csv line 3, column node_id: node 'S00' is a junction node; allowed: a node of kind customer"):
        load_customers(file, network)
    file.write_text("application_id,node_id,demand_kva\na,P01,-5\n")
    with pytest.raises(InputError, match=r"line 2, column demand_kva: value '-5' is not allowed"):
        load_customers(file, network)


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    ("id,x_m,y_m,kind,voltage_kv,spare_capacity_kva,demand_kva\n变电站,0,0,substation,10,1000,\n".encode("gbk"), "not UTF-8 text"),
])
def test_empty_and_misencoded_network_files_are_named(tmp_path, content, message):
    folder = tmp_path / "net"
    shutil.copytree(EXAMPLE, folder)
    (folder / "nodes.csv").write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        load_network(folder)
    assert "nodes.csv" in str(error.value)


def test_candidate_transformer_needs_a_higher_voltage_hv_node(transformer_case):
    network, _ = transformer_case(0.4, [100])
    nodes = network.nodes.reset_index()
    with pytest.raises(InputError, match=r"line 4 \(id 'X'\), column hv_node: value 'Q' is not a node id"):
        network_from_frames(nodes.assign(hv_node=nodes["hv_node"].replace("J", "Q")), network.corridors.reset_index())
    with pytest.raises(InputError, match=r"column hv_node: node 'T' is at 0.4 kV, not above the site's 0.4 kV"):
        network_from_frames(nodes.assign(hv_node=nodes["hv_node"].replace("J", "T")), network.corridors.reset_index())
    with pytest.raises(InputError, match=r"only candidate_transformer nodes have an hv_node"):
        network_from_frames(nodes.assign(hv_node="J"), network.corridors.reset_index())


def test_the_optimiser_prices_with_the_rule_sets_catalogue(tariffs_copy, tmp_path):
    from costmodel.grid.cli_network import optimize_network
    from costmodel.params.ruleset import _clear_caches

    # a utility's own catalogue, its 3x70 cable at twice the price, named by national-1996
    own = tariffs_copy / "catalogs" / "utility-own"
    shutil.copytree(tariffs_copy / "catalogs" / "cn-indicative-2019", own)
    (own / "meta.yaml").write_text((own / "meta.yaml").read_text().replace("id: cn-indicative-2019", "id: utility-own"))
    items = pd.read_csv(own / "unit_costs.csv")
    items.loc[items["std_type"] == "YJV22-8.7/15-3x70", "unit_cost_cny"] *= 2
    items.to_csv(own / "unit_costs.csv", index=False)
    manifest = tariffs_copy / "rulesets" / "national-1996" / "manifest.yaml"
    manifest.write_text(manifest.read_text() + "catalog: utility-own\n")
    _clear_caches()
    folder = tmp_path / "net"
    folder.mkdir()
    (folder / "nodes.csv").write_text("id,x_m,y_m,kind,voltage_kv,spare_capacity_kva,demand_kva\n"
                                      "F,0,0,feeder_point,10,5000,0\nC,1000,0,customer,10,0,1000\n")
    (folder / "corridors.csv").write_text("id,from_node,to_node,length_km,allowed_std_types,cost_multiplier,status\n"
                                          "L1,F,C,1.0,YJV22-8.7/15-3x70,1.0,candidate\n")
    (folder / "customers.csv").write_text("application_id,node_id,demand_kva\napp-1,C,1000\n")
    result = optimize_network(folder, folder / "customers.csv", "national-1996", time_limit_s=20, mip_gap=1e-6)
    # 1 km of 3x70 at 2 x 420,000 CNY/km: the utility's price, not the shipped catalogue's
    assert result["report"]["objective_cny"] == pytest.approx(840_000)


def test_an_existing_load_on_a_candidate_corridor_is_refused():
    nodes = pd.DataFrame([{"id": "F", "x_m": 0, "y_m": 0, "kind": "feeder_point", "voltage_kv": 10, "spare_capacity_kva": 5000},
                          {"id": "C", "x_m": 1, "y_m": 0, "kind": "customer", "voltage_kv": 10, "demand_kva": 100}])
    corridors = pd.DataFrame([{"id": "L1", "from_node": "F", "to_node": "C", "length_km": 1, "allowed_std_types": "YJV22-8.7/15-3x70",
                               "cost_multiplier": 1, "status": "candidate", "existing_load_kva": 250}])
    with pytest.raises(InputError, match=r"line 2 \(id 'L1'\), column existing_load_kva: value 250 on a candidate corridor; "
                                         r"allowed: a load on existing corridors only"):
        network_from_frames(nodes, corridors)
