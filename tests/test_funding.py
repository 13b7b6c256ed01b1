"""Who funds each line: its zone against the application's boundary point, worked out by hand.

Along the supply path the zones are grid_owned (the grid company's own devices), upstream, extension, site,
installation; charges lie past every boundary. A boundary point lies between two zones and the grid company
funds every zone before it: the point of connection after upstream, the red line after the extension, the
meter after the site. The expected funders below are written out from that reading, not from the module's
rank tables.
"""

import numpy as np
import pandas as pd
import pytest

from costmodel.columns import Columns
from costmodel.quote import BOUNDARY_POINTS, ZONE_ORDER, fund_lines, totals_by_application

PATH = ["grid_owned", "upstream", "extension", "site", "installation", "charges"]
FUNDED_BY = {
    "point_of_connection": ["grid", "grid", "customer", "customer", "customer", "customer"],
    "red_line": ["grid", "grid", "grid", "customer", "customer", "customer"],
    "meter": ["grid", "grid", "grid", "grid", "customer", "customer"],
}


def _decided(boundaries: list[str]) -> Columns:
    return Columns(pd.DataFrame({
        "application_id": [f"a{i}" for i in range(len(boundaries))],
        "boundary": boundaries,
        "boundary_rule": [f"boundary.rule_{b}" for b in boundaries],
    }))


def test_the_zones_and_boundary_points_lie_in_supply_path_order():
    assert list(ZONE_ORDER) == PATH
    assert list(BOUNDARY_POINTS) == ["point_of_connection", "red_line", "meter"]


@pytest.mark.parametrize("boundary", list(FUNDED_BY))
def test_the_grid_funds_each_zone_before_the_boundary_point_and_the_customer_the_rest(boundary):
    decided = _decided([boundary])
    lines = Columns(arrays={"zone": pd.Categorical(PATH), "_row": np.zeros(len(PATH), dtype=np.intp)}, length=len(PATH))
    funded = fund_lines(lines, decided)
    assert list(np.asarray(funded["funded_by"], dtype=object)) == FUNDED_BY[boundary]
    # works without a rule of their own cite the rule that set the boundary
    assert set(np.asarray(funded["rule_id"], dtype=object)) == {f"boundary.rule_{boundary}"}


def test_each_line_is_funded_by_its_own_application_found_by_id_without_row_positions():
    decided = _decided(["point_of_connection", "meter", "red_line"])
    # the same zone under three boundaries, and the lines in another order than the applications
    lines = Columns(pd.DataFrame({"application_id": ["a2", "a0", "a1", "a1"], "zone": ["extension", "extension", "extension", "site"]}))
    funded = fund_lines(lines, decided)
    assert list(np.asarray(funded["funded_by"], dtype=object)) == ["grid", "customer", "grid", "grid"]
    assert list(np.asarray(funded["rule_id"], dtype=object)) == [
        "boundary.rule_red_line", "boundary.rule_point_of_connection", "boundary.rule_meter", "boundary.rule_meter"]


def test_a_line_that_names_its_rule_keeps_it_and_a_line_outside_every_zone_is_the_customers():
    decided = _decided(["meter"])
    lines = Columns(arrays={
        "zone": pd.Categorical(["grid_owned", "site", "charges", "nowhere"]),
        "rule_id": pd.Categorical(["metering.grid_supplied_families", None, "fee.temporary", None]),
        "_row": np.zeros(4, dtype=np.intp),
    }, length=4)
    funded = fund_lines(lines, decided)
    assert list(np.asarray(funded["funded_by"], dtype=object)) == ["grid", "grid", "customer", "customer"]
    assert list(np.asarray(funded["rule_id"], dtype=object)) == [
        "metering.grid_supplied_families", "boundary.rule_meter", "fee.temporary", "boundary.rule_meter"]


def test_totals_add_each_partys_lines_per_application_in_its_order_with_zero_where_none():
    decided = _decided(["meter", "meter", "meter"])
    lines = Columns(arrays={
        "_row": np.array([2, 0, 2, 2, 0]),
        "amount_cny": np.array([100.0, 40.0, 7.5, np.nan, 3.0]),   # an unpriced line counts for nothing
        "funded_by": pd.Categorical(["grid", "customer", "customer", "grid", "grid"]),
    }, length=5)
    totals = totals_by_application(lines, decided)
    assert totals["application_id"].tolist() == ["a0", "a1", "a2"]
    assert totals["customer_cny"].tolist() == [40.0, 0.0, 7.5]
    assert totals["grid_cny"].tolist() == [3.0, 0.0, 100.0]
    assert totals["total_cny"].tolist() == [43.0, 0.0, 107.5]
