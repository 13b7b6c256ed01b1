"""AC power flow of a design beside the linear estimate (hand figures from test_model's formulae)."""

import json
import math

import pandas as pd
import pandapower as pp
import pytest

from costmodel.grid.radial import extract, prepare, solve
from costmodel.grid.network import load_grid_limits, network_from_frames
from costmodel.grid.validate import design_to_pandapower, validate_alone, validate_design
from costmodel.messages import in_chinese


def one_route(km=3.0, kva=3000):
    nodes = pd.DataFrame([{"id": "F", "x_m": 0, "y_m": 0, "kind": "feeder_point", "voltage_kv": 10, "spare_capacity_kva": 8000, "demand_kva": 0},
                          {"id": "C", "x_m": 3000, "y_m": 0, "kind": "customer", "voltage_kv": 10, "spare_capacity_kva": 0, "demand_kva": kva}])
    corridors = pd.DataFrame([{"id": "L", "from_node": "F", "to_node": "C", "length_km": km, "allowed_std_types": "YJV22-8.7/15-3x70",
                               "cost_multiplier": 1, "status": "candidate"}])
    network = network_from_frames(nodes, corridors)
    inst = prepare(network, pd.DataFrame([{"application_id": "a", "node_id": "C", "demand_kva": kva}]), load_grid_limits("national-1996"))
    return network, extract(inst, solve(inst, 20, 1e-6))


def test_ac_close_to_linear_and_hand_figures():
    network, design = one_route()
    result = validate_design(design, network)
    summary = result["summary"]
    linear_drop = 3000 * 3.0 * (0.268 * 0.9 + 0.111 * math.sqrt(0.19)) / 1000       # 2.606%
    assert summary["worst_voltage_pu_linear"] == pytest.approx(1 - linear_drop / 100)
    assert summary["worst_voltage_node"] == "C"
    assert summary["worst_voltage_pu_ac"] == pytest.approx(1 - linear_drop / 100, abs=0.003)
    # 3,000 kVA at 10 kV is 173.2 A on a 215 A cable: 80.6%; AC current a little higher (lower voltage)
    assert summary["max_loading_pct_linear"] == pytest.approx(3000 / (math.sqrt(3) * 10 * 215) * 100)
    assert summary["max_loading_pct_ac"] == pytest.approx(summary["max_loading_pct_linear"], rel=0.04)
    assert summary["max_loading_pct_ac"] > summary["max_loading_pct_linear"]
    assert result["violations"] == []


def test_violations_are_flagged():
    network, design = one_route()
    design.report["voltage_limit_pct"] = 1.0      # a stricter limit than the design was made for
    result = validate_design(design, network)
    assert result["summary"]["violations"] == 1
    assert "node C: AC voltage" in result["violations"][0] and "0.9900 pu" in result["violations"][0]


def test_pandapower_net_layout():
    network, design = one_route()
    net = design_to_pandapower(design, network)
    assert len(net.ext_grid) == 1 and len(net.line) == 1 and len(net.load) == 1
    assert net.line.iloc[0]["max_i_ka"] == pytest.approx(0.215)
    assert net.load.iloc[0]["p_mw"] == pytest.approx(2.7)        # 3,000 kVA x 0.9


def test_a_new_transformer_is_a_source_and_a_load(transformer_case):
    # 100 kVA through a new transformer at X: X is an ext_grid at 1.0 pu, J carries a 100 kVA load
    network, customers = transformer_case(0.55, [100])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    design = extract(inst, solve(inst, 20, 1e-6))
    net = design_to_pandapower(design, network)
    assert sorted(net.ext_grid["name"]) == ["F", "X"]
    at_j = net.load[net.load["bus"] == net.bus.index[net.bus["name"] == "J"][0]]
    assert at_j["p_mw"].sum() == pytest.approx(0.1 * 0.9) and at_j["q_mvar"].sum() == pytest.approx(0.1 * math.sqrt(0.19))
    result = validate_design(design, network)
    lv_drop = 100 * 0.05 * (0.153 * 0.9 + 0.077 * math.sqrt(0.19)) / 1.6       # 0.54 % on the 50 m LV cable
    buses = result["buses"].set_index("node_id")
    assert buses.loc["C1", "vm_pu_ac"] == pytest.approx(1 - lv_drop / 100, abs=0.002)
    assert buses.loc["X", "vm_pu_ac"] == pytest.approx(1.0)
    # the transformer's AC load is its secondary's supply, losses of the LV cable included: 144 A on 50 m of
    # 4x120 (0.153 + j0.077 ohm/km) adds 3 I^2 Z = 0.48 kW + 0.24 kvar to 90 kW + 43.6 kvar: 100.54 kVA
    amps = 100 / (math.sqrt(3) * 0.4)
    loss_kw, loss_kvar = 3 * amps ** 2 * 0.153 * 0.05 / 1000, 3 * amps ** 2 * 0.077 * 0.05 / 1000
    expected = math.hypot(90 + loss_kw, 100 * math.sqrt(0.19) + loss_kvar)
    transformer = result["lines"].set_index("corridor_id").loc["X:transformer"]
    assert transformer["loading_pct_linear"] == pytest.approx(100)
    assert transformer["loading_pct_ac"] == pytest.approx(expected, abs=0.05)      # 100 kVA rating
    assert result["violations"] == [f"corridor X:transformer (S13-M-100/10): AC loading {expected:.1f}% above 100% "
                                    "(linear estimate 100.0%)"]


# The whole-net check on a hand-made net (tests/grid/pandapower_cases.py): feeder F - 5 km of 3x70 - B carries 3,000 kVA
# already, a second feeder 3,300 kVA; the linear model fills it with C's 520 kVA to (3,195.3 + 520) / 3,723.9 = 99.8 % (3,195.3 kVA: the import's
# power flow, 3,000 kVA at B's 0.939 pu) and reaches C over it. The expected figures are a direct pandapower run of the
# net with C's line and load added by hand (`expected_flow`).


def test_the_whole_net_check_names_what_the_design_alone_misses(tmp_path):
    from tests.grid.pandapower_cases import expected_flow, hand_net, imported_case

    _, network, _, design = imported_case(tmp_path / "net")
    assert sorted(design.corridors["corridor_id"]) == ["l0", "new1"]
    expected = expected_flow()
    # the hand run: B at 0.9289 pu and C at 0.9283 pu below the 0.93 band, the feeder at 101.7 % of its 215 A
    vm = expected.res_bus["vm_pu"].set_axis(expected.bus["name"])
    vm_b, vm_c = vm["B"], vm["C"]
    feeder_pct = expected.res_line.at[0, "loading_percent"]
    assert vm_c < vm_b < 0.93 and 100 < feeder_pct < 103

    whole = validate_design(design, network)
    summary = whole["summary"]
    assert summary["check"] == "whole_net"
    assert summary["check_text"] == "AC check on the whole net (4 buses, 2 existing loads)"
    buses = whole["buses"].set_index("node_id")
    assert buses.loc["b2", "vm_pu_ac"] == pytest.approx(vm_b, abs=1e-6)
    assert buses.loc["C", "vm_pu_ac"] == pytest.approx(vm_c, abs=1e-6)
    assert summary["worst_voltage_node"] == "C" and summary["worst_voltage_pu_ac"] == pytest.approx(vm_c, abs=1e-6)
    feeder = whole["lines"].set_index("corridor_id").loc["l0"]
    assert feeder["loading_pct_ac"] == pytest.approx(feeder_pct, abs=1e-4)
    assert feeder["loading_pct_linear"] == pytest.approx((network.corridors.at["l0", "existing_load_kva"] + 520) / (math.sqrt(3) * 10 * 215) * 100)
    assert summary["max_loading_corridor"] == "l0" and summary["max_loading_pct_ac"] == pytest.approx(feeder_pct, abs=1e-4)
    # beside it, the net's own flow on that line (85.8 %); C is new, so its voltage before the design is unknown
    before = hand_net()
    pp.runpp(before, numba=False)
    assert summary["max_loading_pct_before"] == pytest.approx(before.res_line.at[0, "loading_percent"], abs=1e-9)
    assert summary["worst_voltage_pu_before"] is None
    assert [v.split(":")[0] for v in whole["violations"]] == ["node b2", "node C", "corridor l0 (YJV22-8.7/15-3x70)"]
    assert in_chinese(whole["violations"][1]) == f"节点 C：交流电压 {vm_c:.4f} pu，低于下限 0.9300 pu（线性估算 {buses.loc['C', 'voltage_pu_linear']:.4f} pu）"
    assert summary["violations"] == 3 and whole["pre_existing"] == []
    # the design alone, fed at 1.0 pu, sees 520 kVA on an empty feeder: C at about 1 - 520 x 5.39 x 0.2896 / 1000 %
    alone = validate_alone(design, network)
    assert alone["summary"]["check"] == "design" and alone["violations"] == []
    assert alone["summary"]["worst_voltage_pu_ac"] == pytest.approx(1 - 520 * 5.39 * (0.268 * 0.9 + 0.111 * math.sqrt(0.19)) / 1e5, abs=5e-4)


def test_a_limit_broken_before_the_design_is_reported_apart(tmp_path):
    from tests.grid.pandapower_cases import expected_flow, hand_net, imported_case

    # feeder 2 (F - 5 km - D, 3,650 kVA) already breaks both limits in the net's own power flow
    before = hand_net(3650)
    pp.runpp(before, numba=False)
    assert before.res_bus.at[3, "vm_pu"] < 0.93 and before.res_line.at[1, "loading_percent"] > 100
    _, network, _, design = imported_case(tmp_path / "net", d_kva=3650)
    result = validate_design(design, network)
    after = expected_flow(3650)
    assert [v.split(":")[0] for v in result["pre_existing"]] == ["node b3", "corridor l1 (YJV22-8.7/15-3x70)"]
    assert f"{after.res_bus.at[3, 'vm_pu']:.4f} pu below the limit 0.9300 pu ({before.res_bus.at[3, 'vm_pu']:.4f} pu before the design)" \
        in result["pre_existing"][0]
    assert result["pre_existing"][1].endswith(f"({before.res_line.at[1, 'loading_percent']:.1f}% before the design), already before the design")
    assert result["summary"]["pre_existing"] == 2
    assert in_chinese(result["pre_existing"][1]) == (
        f"走廊 l1（YJV22-8.7/15-3x70）：交流负载率 {after.res_line.at[1, 'loading_percent']:.1f}%，超过 100%"
        f"（设计前 {before.res_line.at[1, 'loading_percent']:.1f}%）（设计前已越限）")
    # the design's own breaches stay violations; the pre-existing ones are not among them
    assert [v.split(":")[0] for v in result["violations"]] == ["node b2", "node C", "corridor l0 (YJV22-8.7/15-3x70)"]
    lines = result["lines"].set_index("corridor_id")
    assert lines.loc["l1", "pre_existing"] and not lines.loc["l0", "pre_existing"]
    assert lines.loc["t0", "loading_pct_ac"] == pytest.approx(after.res_trafo.at[0, "loading_percent"], abs=1e-4)


def test_the_design_exported_into_the_net_keeps_everything_the_net_had(tmp_path):
    from costmodel.grid.validate import design_into_net, network_net
    from tests.grid.pandapower_cases import imported_case

    net, network, _, design = imported_case(tmp_path / "net")
    exported = design_into_net(design, network, network_net(network))
    # one bus, one line (C's corridor) and one load added; the net's bus, line, load, transformer, ext_grid as they were
    assert (len(exported.bus), len(exported.line), len(exported.load)) == (len(net.bus) + 1, len(net.line) + 1, len(net.load) + 1)
    assert len(exported.trafo) == 1 and len(exported.ext_grid) == 1
    assert exported.line.at[2, "name"] == "new1" and exported.line.at[2, "length_km"] == pytest.approx(0.39)
    assert exported.load.at[2, "p_mw"] == pytest.approx(0.52 * 0.9) and exported.load.at[2, "q_mvar"] == pytest.approx(0.52 * math.sqrt(0.19))
    assert json.loads(exported.bus.at[4, "geo"])["coordinates"] == pytest.approx([5300, 0])   # schematic: as in nodes.csv
    # the folder's own net is untouched by the export
    assert len(network_net(network).net.bus) == len(net.bus)


def test_a_reinforced_line_gets_the_chosen_conductor(tmp_path):
    from dataclasses import replace

    from costmodel.grid.validate import design_into_net, network_net
    from tests.grid.pandapower_cases import imported_case

    _, network, _, design = imported_case(tmp_path / "net")
    # the feeder as if the design had replaced it by the 3x240 (430 A, r 0.0754, x 0.094 ohm/km)
    corridors = design.corridors.copy()
    corridors.loc[corridors["corridor_id"] == "l0", ["std_type", "change"]] = ["YJV22-8.7/15-3x240", "reinforced"]
    options = network.options[network.options["corridor_id"] != "l0"]
    l0 = network.options[network.options["corridor_id"] == "l0"].iloc[[0]].assign(
        std_type="YJV22-8.7/15-3x240", r_ohm_per_km=0.0754, x_ohm_per_km=0.094, c_nf_per_km=430, ampacity_a=430)
    network = replace(network, options=pd.concat([options, l0]))
    line = design_into_net(replace(design, corridors=corridors), network, network_net(network)).line.loc[0]
    assert (line["std_type"], line["r_ohm_per_km"], line["x_ohm_per_km"], line["max_i_ka"], line["length_km"]) == \
        ("YJV22-8.7/15-3x240", 0.0754, 0.094, 0.43, 5.0)


def test_a_bus_the_design_does_not_reach_hangs_on_the_design_node_its_route_meets(tmp_path):
    from costmodel.grid.radial.ac_feasible import tighten
    from tests.grid.pandapower_cases import CABLE70, SIN, hand_net, imported_case

    # E: 1 km of 3x70 north of B with 100 kVA of B's 3,000 (the feeder carries what it did); the design, through B,
    # pulls E below the band with B
    net = hand_net()
    net.load.loc[0, ["p_mw", "q_mvar"]] = [2.9 * 0.9, 2.9 * SIN]
    e = pp.create_bus(net, 10, name="E", geodata=(5000, 1000))
    pp.create_line_from_parameters(net, 2, e, 1.0, type="cs", **CABLE70)
    pp.create_load(net, e, p_mw=0.1 * 0.9, q_mvar=0.1 * SIN)
    _, network, inst, design = imported_case(tmp_path / "net", net=net)
    assert "b4" not in set(design.nodes["node_id"]) and sorted(design.corridors["corridor_id"]) == ["l0", "new1"]
    result = validate_design(design, network)
    buses = result["buses"].set_index("node_id")
    assert buses.loc["b4", "vm_pu_ac"] < 0.93 <= buses.loc["b4", "vm_pu_before"]
    assert buses.loc["b4", "design_node"] == "b2" and pd.isna(buses.loc["b4", "voltage_pu_linear"])
    assert any(v.startswith("node b4: AC voltage") and "pu before the design)" in v for v in result["violations"])
    # the AC loop tightens the drops of B's path for it: the feeder l0, not C's own corridor beyond B
    from costmodel.grid.radial import solve

    chosen = solve(inst, 20, 1e-6).chosen
    tightened, _ = tighten(inst, chosen, result)
    l0 = tightened.options["corridor_id"] == "l0"
    ratio_e = (1 - buses.loc["b4", "vm_pu_ac"]) / (1 - buses.loc["b2", "voltage_pu_linear"])
    assert tightened.options.loc[l0, "drop_pct_per_kva"].to_numpy() == pytest.approx(
        inst.options.loc[l0, "drop_pct_per_kva"].to_numpy() * ratio_e)


def test_a_voltage_above_the_band_is_a_violation_at_a_new_bus_and_pre_existing_where_the_net_had_it(tmp_path):
    from tests.grid.pandapower_cases import CABLE70, NEW_KVA, SIN, hand_net, imported_case

    # the 110 kV grid held at 1.14 pu: F, B and D sit above 1 + 7 % already; C, new, comes in above it too
    net = hand_net()
    net.ext_grid["vm_pu"] = 1.14
    _, network, _, design = imported_case(tmp_path / "net", net=net)
    assert sorted(design.corridors["corridor_id"]) == ["l0", "new1"]
    expected = hand_net()
    expected.ext_grid["vm_pu"] = 1.14
    c = pp.create_bus(expected, 10, name="C")
    pp.create_line_from_parameters(expected, 2, c, 0.39, **CABLE70)
    pp.create_load(expected, c, p_mw=NEW_KVA / 1000 * 0.9, q_mvar=NEW_KVA / 1000 * SIN)
    pp.runpp(expected, numba=False)
    vm = expected.res_bus["vm_pu"].set_axis(expected.bus["name"])
    assert vm["C"] > 1.07 and min(vm["F"], vm["B"], vm["D"]) > 1.07

    result = validate_design(design, network)
    assert result["violations"] == [f"node C: AC voltage {vm['C']:.4f} pu above the limit 1.0700 pu "
                                    f"(linear estimate {result['buses'].set_index('node_id').at['C', 'voltage_pu_linear']:.4f} pu)"]
    assert in_chinese(result["violations"][0]).startswith(f"节点 C：交流电压 {vm['C']:.4f} pu，高于上限 1.0700 pu")
    assert [text.split(":")[0] for text in result["pre_existing"]] == ["node b1", "node b2", "node b3"]
    assert all(text.endswith(", already before the design") for text in result["pre_existing"])
    assert f"node b3: AC voltage {vm['D']:.4f} pu above the limit 1.0700 pu" in result["pre_existing"][2]
    assert result["summary"]["highest_voltage_pu_ac"] == pytest.approx(vm["F"], abs=1e-6)
    assert result["summary"]["voltage_upper_limit_pu"] == pytest.approx(1.07)
