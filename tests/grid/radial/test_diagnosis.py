"""An infeasible instance is diagnosed in words: the customer, the limit and its source."""

import pandas as pd

from costmodel.messages import in_chinese

from tests.grid.radial.cases import CABLE70, CABLE240, LV240, OVERHEAD70, build, optimise


def test_infeasible_voltage_names_customer_and_limit():
    network, customers = build([("F1", "feeder_point", 5000, 0), ("C", "customer", 0, 3000)],
                               [("OH", "F1", "C", 4.5, OVERHEAD70)], [("app-9", "C", 3000)])
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    text = design.report["diagnosis"][0]
    assert "app-9" in text and "node C" in text and "7%" in text and "grid.voltage_deviation_limit" in text
    assert "7.44%" in text   # the least possible drop, worked out above
    assert design.corridors.empty
    assert in_chinese(text).startswith("用户 app-9（节点 C，3000 kVA）无法满足电压降限值 7%（grid.voltage_deviation_limit：")
    assert in_chinese(text).endswith("任一路径用最大导线时的最小电压降为 7.44%")


def test_infeasible_capacity_and_reachability_named():
    network, customers = build(
        [("F", "feeder_point", 4000, 0), ("C", "customer", 0, 5000), ("D", "customer", 0, 100), ("J", "junction", 0, 0)],
        [("L1", "F", "C", 1.0, CABLE240), ("L2", "J", "D", 1.0, CABLE70)],
        [("big", "C", 5000), ("island", "D", 100)])
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    big, island = design.report["diagnosis"]
    assert "big" in big and "capacity" in big and "4000 kVA" in big      # the feeder's spare capacity binds
    assert "island" in island and "cannot be reached" in island
    assert "受限于F 的剩余容量（4000 kVA）" in in_chinese(big)
    assert in_chinese(island).startswith("用户 island（节点 D，100 kVA）无法接入")


def test_sources_together_too_small():
    network, customers = build(
        [("F", "feeder_point", 3000, 0), ("C1", "customer", 0, 2000), ("C2", "customer", 0, 2000)],
        [("L1", "F", "C1", 1.0, CABLE70), ("L2", "F", "C2", 1.0, CABLE70)],
        [("a", "C1", 2000), ("b", "C2", 2000)])
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    assert "4000 kVA" in design.report["diagnosis"][0] and "3000 kVA" in design.report["diagnosis"][0]


def test_infeasible_transformer_capacity_names_the_limit(tariffs_copy, transformer_case):
    catalogue = tariffs_copy / "catalogs" / "cn-indicative-2019" / "unit_costs.csv"
    items = pd.read_csv(catalogue)
    items = items[(items["family"] != "transformer") | (items["rating_kva"] <= 100)]
    items.to_csv(catalogue, index=False)
    # 150 kVA: a 4x240 LV cable carries it (277 kVA) but the catalogue's largest transformer is 100 kVA
    network, customers = transformer_case(0.55, [150], public_spare=0, lv_type=LV240)
    design = optimise(network, customers)
    assert design.report["status"] == "infeasible"
    assert ("at most 100 kVA reach it, limited by the largest transformer size at candidate site X "
            "(S13-M-100/10, 100 kVA)") in design.report["diagnosis"][0]
    network, customers = transformer_case(0.55, [150], feeder_spare=80, public_spare=0, lv_type=LV240)
    with_feeder_limit = optimise(network, customers)
    assert "limited by the spare capacity of F (80 kVA)" in with_feeder_limit.report["diagnosis"][0]


def test_the_solver_proves_infeasibility_and_optimise_says_why():
    from costmodel.grid.network import load_grid_limits
    from costmodel.grid.radial import optimise as run_optimiser
    from costmodel.grid.radial import prepare, solve

    # two customers of 2,000 kVA, each reachable alone, a feeder with 3,000 kVA spare: infeasible together
    network, customers = build(
        [("F", "feeder_point", 3000, 0), ("C1", "customer", 0, 2000), ("C2", "customer", 0, 2000)],
        [("L1", "F", "C1", 1.0, CABLE70), ("L2", "F", "C2", 1.0, CABLE70)],
        [("a", "C1", 2000), ("b", "C2", 2000)])
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    solved = solve(inst, 20, 1e-6)
    assert solved.status == "infeasible" and solved.diagnosis == []     # the solver alone does not diagnose
    assert run_optimiser(inst, 20, 1e-6).diagnosis == [
        "the customers together need 4000 kVA but all sources together have 3000 kVA spare capacity"]
