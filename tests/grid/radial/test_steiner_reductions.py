"""The Steiner reductions in the capacitated model: they leave corridors out only where nothing can bind.

Two feeder points F1 and F2 and two customers of 500 kVA. Corridors, all cable 3x70 at 420,000 CNY/km: F1-C1 0.1 km
(42,000), F1-C2 0.1 km (42,000) and F2-C2 0.3 km (126,000). The 3x70's 215 A carry 3,724 kVA at 10 kV, far above the
1,000 kVA of both customers, and the drop of 1,000 kVA over all three corridors is
1000 x 0.5 km x (0.268 x 0.9 + 0.111 x 0.436) / 1000 = 0.145 % (limit 7 %).
- Each feeder point with 1,000 kVA spare: nothing can bind, so the cheapest design is the Steiner tree F1-C1, F1-C2
  (84,000 CNY), and F2-C2 is no part of any cheapest design: the reductions leave it out.
- Each with 600 kVA spare: F1 cannot feed both, so the cheapest design is F1-C1 and F2-C2 (168,000 CNY). Leaving F2-C2
  out would leave no design at all: nothing may be left out.
"""

import pytest

from costmodel.grid.network import load_grid_limits
from costmodel.grid.radial import prepare
from costmodel.grid.radial.steiner_reductions import unneeded_corridors
from tests.grid.radial.cases import CABLE70, build, optimise


def two_feeders(spare_kva):
    return build([("F1", "feeder_point", spare_kva, 0), ("F2", "feeder_point", spare_kva, 0),
                  ("C1", "customer", 0, 500), ("C2", "customer", 0, 500)],
                 [("F1C1", "F1", "C1", 0.1, CABLE70), ("F1C2", "F1", "C2", 0.1, CABLE70), ("F2C2", "F2", "C2", 0.3, CABLE70)],
                 [("app-1", "C1", 500), ("app-2", "C2", 500)])


@pytest.mark.parametrize(("spare_kva", "unneeded", "cost_cny", "built"), [
    (1000, {"F2C2"}, 84_000, ["F1C1", "F1C2"]),
    (600, set(), 168_000, ["F1C1", "F2C2"]),
])
def test_a_corridor_is_left_out_only_where_no_capacity_can_bind(spare_kva, unneeded, cost_cny, built):
    network, customers = two_feeders(spare_kva)
    assert unneeded_corridors(prepare(network, customers, load_grid_limits("national-1996"))) == unneeded
    design = optimise(network, customers)
    assert design.report["status"] == "optimal" and design.report["objective_cny"] == pytest.approx(cost_cny)
    assert sorted(design.corridors["corridor_id"]) == built
    assert design.report["removed"]["steiner_reductions"] == len(unneeded)


def test_a_voltage_drop_that_could_bind_leaves_everything_in():
    # 1,000 kVA over F2-C2 at 20 km instead of 0.3: all corridors together drop 1000 x 20.2 x 0.290 / 1000 = 5.9 %;
    # at 25 km, 7.3 % > 7 %: some path could break the limit, so nothing is left out
    for km, unneeded in ((20.0, {"F2C2"}), (25.0, set())):
        network, customers = build([("F1", "feeder_point", 1000, 0), ("F2", "feeder_point", 1000, 0),
                                    ("C1", "customer", 0, 500), ("C2", "customer", 0, 500)],
                                   [("F1C1", "F1", "C1", 0.1, CABLE70), ("F1C2", "F1", "C2", 0.1, CABLE70),
                                    ("F2C2", "F2", "C2", km, CABLE70)],
                                   [("app-1", "C1", 500), ("app-2", "C2", 500)])
        assert unneeded_corridors(prepare(network, customers, load_grid_limits("national-1996"))) == unneeded


def test_an_imported_steiner_instance_solves_to_its_known_optimum_with_the_reductions():
    from costmodel.grid.importers import from_steiner
    from costmodel.grid.network import customers_from_nodes
    from costmodel.grid.radial import extract, optimise as run_optimiser
    from tests_support import PACE, require_shared

    require_shared(PACE / "instance056.gr")
    network = from_steiner(PACE / "instance056.gr")
    inst = prepare(network, customers_from_nodes(network), load_grid_limits("shandong-2019"))
    design = extract(inst, run_optimiser(inst, time_limit_s=60, mip_gap=0.0))
    # optima.csv: 302; weights read as metres (0.001 km each, tariffs/grid/steiner-import.yaml), cable 3x70 at
    # 420,000 CNY/km: 302 x 0.001 x 420,000 = 126,840 CNY
    assert design.report["status"] == "optimal" and design.report["objective_cny"] == pytest.approx(126_840)
    assert design.report["removed"]["steiner_reductions"] > 0
