"""Design -> Components frame: zones, shares of shared corridors, totals equal the optimiser's cost."""

import pandas as pd
import pytest

from costmodel.grid.components import COMPONENT_COLUMNS, design_to_components
from costmodel.grid.radial import extract, prepare, solve
from costmodel.grid.network import load_grid_limits, load_network, network_from_frames

CABLE70, CABLE240 = "YJV22-8.7/15-3x70", "YJV22-8.7/15-3x240"


def design_of(nodes, corridors, customers):
    node_frame = pd.DataFrame([{"id": n, "x_m": i * 100.0, "y_m": 0.0, "kind": k, "voltage_kv": 10,
                                "spare_capacity_kva": s, "demand_kva": 0} for i, (n, k, s) in enumerate(nodes)])
    corridor_frame = pd.DataFrame([{"id": c, "from_node": a, "to_node": b, "length_km": km, "allowed_std_types": t,
                                    "cost_multiplier": m, "status": st} for c, a, b, km, t, m, st in corridors])
    network = network_from_frames(node_frame, corridor_frame)
    customer_frame = pd.DataFrame(customers, columns=["application_id", "node_id", "demand_kva"])
    inst = prepare(network, customer_frame, load_grid_limits("national-1996"))
    return extract(inst, solve(inst, 20, 1e-6))


def test_shared_corridor_split_by_demand_and_reinforcement_upstream():
    # existing F-J has 3x70 installed (3,724 kVA); 1,000 + 3,000 kVA force 3x240 on it: reinforcement.
    # J-A 0.5 km and J-B 0.4 km (x1.5 road crossing) are new 3x70 cables.
    design = design_of(
        [("F", "feeder_point", 8000), ("J", "junction", 0), ("A", "customer", 0), ("B", "customer", 0)],
        [("E", "F", "J", 1.0, f"{CABLE70};{CABLE240}", 1.0, "existing"),
         ("NA", "J", "A", 0.5, CABLE70, 1.0, "candidate"), ("NB", "J", "B", 0.4, CABLE70, 1.5, "candidate")],
        [("app-a", "A", 1000), ("app-b", "B", 3000)])
    frame = design_to_components(design)
    assert list(frame.columns) == COMPONENT_COLUMNS
    rows = {(r.application_id, r.std_type, r.zone): r.quantity for r in frame.itertuples()}
    assert rows[("app-a", CABLE240, "upstream")] == pytest.approx(0.25)     # 1,000 / 4,000 of 1 km
    assert rows[("app-b", CABLE240, "upstream")] == pytest.approx(0.75)
    assert rows[("app-a", CABLE70, "extension")] == pytest.approx(0.5)
    assert rows[("app-b", CABLE70, "extension")] == pytest.approx(0.6)      # 0.4 km x 1.5
    assert set(frame["unit"]) == {"km"}
    assert "x1.5 cost multiplier" in frame.loc[frame["component"].str.contains("corridor NB"), "component"].iloc[0]
    # priced at catalogue cost the components reproduce the optimiser's objective
    price = {CABLE70: 420_000, CABLE240: 680_000}
    total = sum(price[r.std_type] * r.quantity for r in frame.itertuples())
    assert total == pytest.approx(design.report["objective_cny"]) == pytest.approx(680_000 + 0.5 * 420_000 + 0.6 * 420_000)


def test_example_components_total_matches_objective():
    from costmodel.grid.network import load_customers
    from pathlib import Path
    folder = Path(__file__).resolve().parents[2] / "examples" / "park"
    network = load_network(folder)
    inst = prepare(network, load_customers(folder / "customers.csv", network), load_grid_limits("national-1996"))
    design = extract(inst, solve(inst, 30, 0.01))
    frame = design_to_components(design)
    unit = pd.read_csv(Path(__file__).resolve().parents[2] / "tariffs/catalogs/cn-indicative-2019/unit_costs.csv").set_index("std_type")["unit_cost_cny"]
    assert (frame["quantity"] * frame["std_type"].map(unit)).sum() == pytest.approx(design.report["objective_cny"])
    assert set(frame["application_id"]) == set(design.customers["application_id"])
    assert set(frame["zone"]) <= {"extension", "upstream"}


def test_no_design_no_components():
    design = design_of([("F", "feeder_point", 100), ("A", "customer", 0)],
                       [("NA", "F", "A", 0.5, CABLE70, 1.0, "candidate")], [("app-a", "A", 1000)])
    assert design.report["status"] == "infeasible"
    assert design_to_components(design).empty


def test_a_new_transformer_is_an_extension_item_shared_by_demand(transformer_case):
    # 100 + 80 kVA behind a new 200 kVA transformer (98,000 CNY) and a 50 m LV cable each
    network, customers = transformer_case(0.3, [100, 80], public_spare=50)
    inst = prepare(network, customers, load_grid_limits("national-1996"))
    components = design_to_components(extract(inst, solve(inst, 20, 1e-6)))
    transformer = components[components["unit"] == "each"].set_index("application_id")
    assert transformer["component"].iloc[0] == "new transformer S13-M-200/10 at site X (primary from J)"
    assert set(transformer["zone"]) == {"extension"}
    assert transformer["quantity"].to_dict() == pytest.approx({"app-1": 100 / 180, "app-2": 80 / 180})
    cables = components[components["unit"] == "km"]
    assert cables["quantity"].sum() == pytest.approx(0.1)
