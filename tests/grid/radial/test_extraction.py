"""The extracted design: changes, radial nodes, and which corridors carry each customer."""

import pytest

from tests.grid.radial.cases import CABLE70, build, optimise


def test_existing_cable_is_free_and_radial_result():
    # existing F-J cable costs nothing; the customer hangs off J by a new 0.3 km cable (126,000)
    network, customers = build(
        [("F", "feeder_point", 5000, 0), ("J", "junction", 0, 0), ("C", "customer", 0, 1000)],
        [("E1", "F", "J", 1.0, CABLE70, "existing"), ("N1", "J", "C", 0.3, CABLE70), ("N2", "F", "C", 0.35, CABLE70)],
        [("app-1", "C", 1000)])
    design = optimise(network, customers)
    assert design.report["objective_cny"] == pytest.approx(126_000)
    assert set(design.corridors["change"]) == {"existing", "new"}
    assert design.nodes["node_id"].is_unique
