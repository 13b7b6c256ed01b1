"""Designs that pass their own AC check, worked out by hand (catalogue figures in cases.py).

The 3x70 cable carries sqrt(3) x 10 kV x 215 A = 3,723.9 kVA, the 3x120 sqrt(3) x 10 x 290 = 5,022.9 kVA.
"""

import math

import pytest

from costmodel.grid.network import load_grid_limits
from costmodel.grid.radial import extract, prepare, solve
from costmodel.grid.radial.ac_feasible import current_ratios, optimise_ac_feasible, tighten
from costmodel.grid.validate import validate_design
from tests.grid.radial.cases import CABLE70, OVERHEAD70, build

CABLE120 = "YJV22-8.7/15-3x120"
RATING70_KVA = math.sqrt(3) * 10 * 215


def two_feeders(demand_kva=3690, second=CABLE120):
    """F1 - 2 km of 3x70 (840,000 CNY) - C - 2 km of `second` - F2 (3x120: 1,005,000 CNY)."""
    network, customers = build([("F1", "feeder_point", 8000, 0), ("F2", "feeder_point", 8000, 0), ("C", "customer", 0, demand_kva)],
                               [("A", "F1", "C", 2.0, CABLE70), ("B", "F2", "C", 2.0, second)], [("app", "C", demand_kva)])
    return network, prepare(network, customers, load_grid_limits("national-1996"))


def test_a_cable_the_linear_model_fills_to_99_percent_is_replaced_by_the_second_cheapest_design():
    network, inst = two_feeders()
    design, validation = optimise_ac_feasible(inst, network, 20, 1e-6)
    first, second = design.report["ac_log"]
    # round 1: the linear optimum, 3x70 from F1 at 3,690 / 3,723.9 = 99.09 %; the current rises as C sags about
    # 2.1 % (3,690 kVA x 2 km x (0.268 x 0.9 + 0.111 x 0.436) / 1000), so AC puts it above 100 %
    assert first["objective_cny"] == pytest.approx(840_000) and first["ac_violations"] == 1
    assert 100 < first["max_loading_pct_ac"] < 99.09 / (1 - 0.0215) + 0.2
    # round 2: the second-cheapest design, 3x120 from F2, passes
    assert second["objective_cny"] == pytest.approx(1_005_000) and second["ac_violations"] == 0
    assert list(design.corridors["corridor_id"]) == ["B"] and validation["violations"] == []
    report = design.report
    assert report["ac_status"] == "passed" and report["ac_rounds"] == 2
    assert report["objective_cny"] == pytest.approx(1_005_000) and report["linear_objective_cny"] == pytest.approx(840_000)
    assert report["feasibility_cost_cny"] == pytest.approx(165_000)
    assert report["feasibility_cost_pct"] == pytest.approx(165_000 / 840_000 * 100)
    # the bound is round 1's, the linear model's, and the report says so
    assert report["bound_cny"] == pytest.approx(840_000) and "linear model" in report["bound_basis"]
    assert report["ac_summary"] == "AC check passed in round 2"


def test_tightening_plans_the_corridor_to_its_rating_over_the_measured_ratio():
    network, inst = two_feeders()
    result = solve(inst, 20, 1e-6)
    validation = validate_design(extract(inst, result), network)
    line = validation["lines"].set_index("corridor_id").loc["A"]
    ratio = line["loading_pct_ac"] / line["loading_pct_linear"]
    tightened, counts = tighten(inst, result.chosen, validation)
    on_a = tightened.options[tightened.options["corridor_id"] == "A"]
    assert on_a["capacity_kva"].to_numpy() == pytest.approx([RATING70_KVA / ratio] * len(on_a))
    assert counts["corridors"] >= 1 and counts["nodes"] == 0
    # capacities only ever tighten, and the measured corridor's ratio is its own
    assert (tightened.options["capacity_kva"] <= inst.options["capacity_kva"] + 1e-9).all()
    assert current_ratios(inst, validation)[on_a.index].to_numpy() == pytest.approx([ratio] * len(on_a))


def test_an_ac_voltage_below_the_band_moves_the_customer_to_the_other_feeder():
    # F1 - 4.1 km of overhead JKLYJ-10-70: 1,445,250 CNY, linear drop 3000 x 4.1 x (0.443 x 0.9 + 0.35 x 0.436) / 1000
    # = 6.78 % within 7 %; AC about 7.3 %. F2 - 5 km of 3x70: 2,100,000 CNY, drop 4.34 %.
    network, customers = build([("F1", "feeder_point", 5000, 0), ("F2", "feeder_point", 5000, 0), ("C", "customer", 0, 3000)],
                               [("OH", "F1", "C", 4.1, OVERHEAD70), ("UG", "F2", "C", 5.0, CABLE70)], [("app-1", "C", 3000)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    design, validation = optimise_ac_feasible(inst, network, 20, 1e-6)
    first = design.report["ac_log"][0]
    assert first["objective_cny"] == pytest.approx(1_445_250) and first["worst_voltage_pu_ac"] < 0.93
    assert first["tightened_nodes"] == 1
    assert design.report["objective_cny"] == pytest.approx(2_100_000) and list(design.corridors["corridor_id"]) == ["UG"]
    assert validation["summary"]["worst_voltage_pu_ac"] >= 0.93


def test_no_ac_feasible_design_says_so_and_names_the_limit():
    # only the 3x70 from F1 (F2's corridor allows the 3x70 too, 2 km): 3,690 kVA exceeds either in AC
    network, inst = two_feeders(second=CABLE70)
    design, _ = optimise_ac_feasible(inst, network, 20, 1e-6)
    report = design.report
    assert report["status"] == "infeasible" and report["ac_status"] == "no_design" and design.corridors.empty
    assert report["ac_summary"] == "no AC-feasible design (round 2)"
    text = report["diagnosis"][0]
    assert text.startswith("no AC-feasible design: with the capacities and drops the AC check of round 1 showed")
    assert "app" in text and "cannot be supplied under the capacity limits" in text and CABLE70 in text
    assert report["linear_objective_cny"] == pytest.approx(840_000)


def test_the_round_limit_has_its_own_status():
    network, inst = two_feeders()
    design, validation = optimise_ac_feasible(inst, network, 20, 1e-6, max_rounds=1)
    report = design.report
    assert report["status"] == "no_solution" and report["ac_status"] == "round_limit" and design.corridors.empty
    assert report["ac_summary"] == "no AC-feasible design after 1 round(s)"
    assert "within the round limit (1 rounds" in report["diagnosis"][0] and "corridor A" in report["diagnosis"][0]
    assert validation["violations"][0].startswith("corridor A (YJV22-8.7/15-3x70): AC loading")


def test_a_design_where_no_limit_binds_keeps_its_optimum_exactly():
    # one route, 1 km of 3x70 for 2,000 kVA (54 %): 420,000 CNY, AC-feasible at once
    network, customers = build([("F", "feeder_point", 5000, 0), ("C", "customer", 0, 2000)],
                               [("L1", "F", "C", 1.0, CABLE70)], [("app-1", "C", 2000)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    design, validation = optimise_ac_feasible(inst, network, 20, 1e-6)
    assert design.report["objective_cny"] == pytest.approx(420_000) and design.report["ac_rounds"] == 1
    assert design.report["feasibility_cost_cny"] == 0 and design.report["status"] == "optimal"
    assert validation["violations"] == []


def test_a_planning_loading_limit_below_the_rating_is_planned_to_and_checked(tariffs_copy):
    from costmodel.params.ruleset import _clear_caches

    limit = tariffs_copy / "rulesets" / "national-1996" / "parameters" / "grid" / "planning_loading_limit.yaml"
    limit.write_text(limit.read_text().replace("1996-10-08: 100", "1996-10-08: 90"))
    _clear_caches()
    # 3,400 kVA over 1 km: 91.3 % of the 3x70's 3,723.9 kVA, above a 90 % planning limit, so the 3x120 (502,500 CNY)
    network, customers = build([("F", "feeder_point", 8000, 0), ("C", "customer", 0, 3400)],
                               [("L1", "F", "C", 1.0, f"{CABLE70};{CABLE120}")], [("app", "C", 3400)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    assert inst.limits.loading_limit_pct == 90
    design, validation = optimise_ac_feasible(inst, network, 20, 1e-6)
    assert design.corridors["std_type"].tolist() == [CABLE120] and design.report["objective_cny"] == pytest.approx(502_500)
    # loadings are shown against the rating, the check against the planning limit
    assert design.corridors["loading_pct"].iloc[0] == pytest.approx(3400 / (math.sqrt(3) * 10 * 290) * 100)
    assert validation["summary"]["loading_limit_pct"] == 90 and validation["violations"] == []


def test_an_existing_feeder_the_whole_net_overloads_gets_less_capacity_for_new_load(tmp_path):
    # tests/grid/pandapower_cases.py: the 5 km 3x70 feeder to B carries E = 3,195.3 kVA already (the import's power
    # flow); C's 520 kVA over it is 99.8 % linear, 101.7 % in the whole net's AC flow
    from tests.grid.pandapower_cases import imported_case

    _, network, inst, _ = imported_case(tmp_path / "net")
    result = solve(inst, 20, 1e-6)
    validation = validate_design(extract(inst, result), network)
    line = validation["lines"].set_index("corridor_id").loc["l0"]
    ratio = line["loading_pct_ac"] / line["loading_pct_linear"]
    carried = network.corridors.at["l0", "existing_load_kva"]
    tightened, counts = tighten(inst, result.chosen, validation)
    on_l0 = tightened.options[tightened.options["corridor_id"] == "l0"]
    # what the planned loading leaves of the rating once the load the feeder carries already is served
    assert on_l0["capacity_kva"].to_numpy() == pytest.approx([RATING70_KVA / ratio - carried] * len(on_l0))
    assert (on_l0["capacity_kva"] < 520).all() and counts["corridors"] >= 1
    # B and C below the band: the drops on C's path (l0, new1) grow
    assert counts["nodes"] == 2
    raised = tightened.options["drop_pct_per_kva"] > inst.options["drop_pct_per_kva"] + 1e-15
    assert set(tightened.options.loc[raised, "corridor_id"]) == {"l0", "new1"}


def test_the_ac_loop_on_the_whole_net_moves_the_customer_to_its_own_cable_from_the_feeder_bus(tmp_path):
    # round 1: over the full feeder and 0.39 km of 3x70 (163,800 CNY), which breaks the whole net's limits; round 2:
    # 6.89 km of 3x70 straight from F (2,893,800 CNY), checked against a direct pandapower run of that design
    from tests.grid.pandapower_cases import expected_flow, imported_case

    _, network, inst, _ = imported_case(tmp_path / "net")
    design, validation = optimise_ac_feasible(inst, network, 20, 1e-6)
    first, second = design.report["ac_log"]
    assert first["objective_cny"] == pytest.approx(0.39 * 420_000) and first["ac_violations"] == 3
    assert second["objective_cny"] == pytest.approx(6.89 * 420_000) and second["ac_violations"] == 0
    assert list(design.corridors["corridor_id"]) == ["new2"] and design.report["ac_status"] == "passed"
    assert validation["summary"]["check"] == "whole_net" and validation["violations"] == []
    expected = expected_flow(route="F")
    vm = expected.res_bus["vm_pu"].set_axis(expected.bus["name"])
    assert validation["summary"]["worst_voltage_pu_ac"] == pytest.approx(vm.min(), abs=1e-6)
    assert validation["buses"].set_index("node_id").at["C", "vm_pu_ac"] == pytest.approx(vm["C"], abs=1e-6)


def test_a_violation_the_model_cannot_tighten_ends_the_loop_at_once_and_says_so(tmp_path):
    from tests.grid.pandapower_cases import hand_net, imported_case

    # the grid held at 1.14 pu: the new bus C comes in above the band, which no capacity or drop of the linear model
    # can lower, so a second round would solve the same model again
    net = hand_net()
    net.ext_grid["vm_pu"] = 1.14
    _, network, inst, _ = imported_case(tmp_path / "net", net=net)
    design, validation = optimise_ac_feasible(inst, network, 20, 1e-6)
    assert design.report["status"] == "no_solution" and design.report["ac_status"] == "round_limit"
    assert design.report["ac_rounds"] == 1 and design.corridors.empty
    (reason,) = design.report["diagnosis"]
    assert reason.startswith("no AC-feasible design: the AC check of round 1 found no limit the linear model can tighten")
    assert reason.endswith(f"breaks: {validation['violations'][0]}") and "above the limit 1.0700 pu" in reason
