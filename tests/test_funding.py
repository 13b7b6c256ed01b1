"""Who funds each line: its zone against the application's boundary point, worked out by hand.

Along the supply path the zones are grid_owned (the grid company's own devices), upstream, extension, site,
installation; charges lie past every boundary. A boundary point lies between two zones and the grid company
funds every zone before it: the point of connection after upstream, the red line after the extension, the
meter after the site. The expected funders below are written out from that reading, not from the module's
rank tables.
"""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from costmodel.columns import Columns
from costmodel.params.parameter import Parameter
from costmodel.quote import BOUNDARY_POINTS, ZONE_ORDER, fund_lines, grid_supplied, totals_by_application

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


@pytest.mark.parametrize("unpriced", [np.nan, None])
def test_totals_add_each_partys_lines_per_application_in_its_order_with_zero_where_none(unpriced):
    decided = _decided(["meter", "meter", "meter", "meter"])
    lines = Columns(arrays={
        "_row": np.array([2, 0, 2, 2, 0]),
        "amount_cny": np.array([100.0, 40.0, 7.5, unpriced, 3.0], dtype=object),   # an unpriced line counts for nothing
        "funded_by": pd.Categorical(["grid", "customer", "customer", "grid", "grid"]),
    }, length=5)
    totals = totals_by_application(lines, decided)
    assert totals["application_id"].tolist() == ["a0", "a1", "a2", "a3"]   # a1 and the last, a3, have no lines
    assert totals["customer_cny"].tolist() == [40.0, 0.0, 7.5, 0.0]
    assert totals["grid_cny"].tolist() == [3.0, 0.0, 100.0, 0.0]
    assert totals["total_cny"].tolist() == [43.0, 0.0, 107.5, 0.0]


GRID_SUPPLIED = "metering.grid_supplied_families"


def _grid_supplied_families() -> Parameter:
    # the grid company supplies meters from 2019, and the new smart meters too from 2021
    return Parameter.from_yaml(GRID_SUPPLIED, {
        "description": "families", "unit": "list", "reference": {"source": "cn-grid-practice", "paraphrase": "meters"},
        "values": {dt.date(2019, 1, 1): ["meter"], dt.date(2021, 1, 1): ["meter", "smart_meter"]}}, Path("p.yaml"))


def _scheme():
    # the meter first in the catalogue: position 0 is a catalogue item like any other
    items = pd.DataFrame({"family": ["meter", "cable", "smart_meter"]}, index=["M1", "C1", "S1"])
    return SimpleNamespace(catalog=SimpleNamespace(items=items))


def _rules(parameters: dict):
    return SimpleNamespace(parameters=parameters, parameter=parameters.__getitem__)


@pytest.mark.parametrize("by_row", [True, False])
def test_the_grid_companys_devices_move_to_its_own_zone_by_the_families_in_force_on_each_date(by_row):
    decided = Columns(pd.DataFrame({"application_id": ["early", "late"],
                                    "evaluation_date": pd.to_datetime(["2020-06-01", "2022-01-01"])}))
    works = pd.DataFrame({"application_id": ["early", "early", "late", "late", "late"],
                          "std_type": ["M1", "S1", "S1", "C1", "X9"],    # X9: not in the catalogue
                          "zone": ["site", "site", "installation", "extension", "site"]})
    if by_row:
        works = works.assign(_row=[0, 0, 1, 1, 1]).drop(columns="application_id")
    moved = grid_supplied(Columns(works), decided, _scheme(), _rules({GRID_SUPPLIED: _grid_supplied_families()}))
    # the smart meter is the customer's in 2020, the grid company's from 2021
    assert list(np.asarray(moved["zone"], dtype=object)) == ["grid_owned", "site", "grid_owned", "extension", "site"]
    assert [None if pd.isna(rule) else rule for rule in np.asarray(moved["rule_id"], dtype=object)] == [
        GRID_SUPPLIED, None, GRID_SUPPLIED, None, None]   # the others cite the boundary's rule later (fund_lines)


def test_without_the_parameter_or_without_a_supplied_device_the_works_are_left_as_they_are():
    decided = Columns(pd.DataFrame({"application_id": ["a0"], "evaluation_date": pd.to_datetime(["2022-01-01"])}))
    works = Columns(pd.DataFrame({"_row": [0], "std_type": ["C1"], "zone": ["extension"]}))
    assert grid_supplied(works, decided, _scheme(), _rules({})) is works
    unchanged = grid_supplied(works, decided, _scheme(), _rules({GRID_SUPPLIED: _grid_supplied_families()}))
    assert list(unchanged["zone"]) == ["extension"] and "rule_id" not in unchanged
